"""Early warning: improbably high event counts per community/grid × item/category (issue 24 part 2)."""
