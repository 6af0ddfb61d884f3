"""The course page's (课程与排课) tabs, one module each; pages/catalog.py loads what they share and lays them out."""
