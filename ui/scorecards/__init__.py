"""The scorecards (评分卡) page's tabs, one module each; pages/scorecards.py loads the period's cards and lays
them out."""
