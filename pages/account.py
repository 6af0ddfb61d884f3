"""Everyone: my account's security — change my password, set up a second factor."""

import streamlit as st

from ui.account import change_password_form
from ui.guard import require
from ui.second_factor import second_factor_settings
from ui.state import tr

viewer = require(__file__)

st.title(tr("auth.account_title"))
st.subheader(tr("auth.change_password"))
change_password_form(viewer)
st.subheader(tr("auth.mfa_title"))
second_factor_settings(viewer)
