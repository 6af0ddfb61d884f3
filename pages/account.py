"""Everyone: my account's security — change my password."""

import streamlit as st

from ui.account import change_password_form
from ui.guard import require
from ui.state import tr

viewer = require(__file__)

st.title(tr("auth.account_title"))
st.subheader(tr("auth.change_password"))
change_password_form(viewer)
