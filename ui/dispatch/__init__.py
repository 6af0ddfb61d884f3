"""The dispatch (智能派单) page's tabs, one module each; pages/dispatch.py loads the data and lays them out."""
