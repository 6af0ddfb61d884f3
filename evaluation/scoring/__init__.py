"""Performance scorecards (考评): versioned schemes, pure vectorised scoring, comparisons, snapshots."""
