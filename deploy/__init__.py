"""Deployment: the reverse proxy and process layout for more than one Streamlit process (deploy/README.md)."""
