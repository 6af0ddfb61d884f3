"""Batch assignment of tasks to grid workers (智能派单): optimal solver (``solver``), greedy baseline, test data.

Nothing is imported here: ``evaluation.assignment.cli`` must load without scipy (``gridwise --help``)."""
