"""The floor for bench/journey_cost.py: the least a Streamlit page can be (a title, a radio, a button
that calls st.rerun), so a click on it costs only what Streamlit itself costs per interaction."""

import streamlit as st

st.title("Floor")
choice = st.radio("Pick", ["a", "b", "c"], horizontal=True)
if st.button("Again"):
    st.rerun()
st.caption(f"picked {choice}")
