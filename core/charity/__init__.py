"""The charity field (党员义田): plots, seasons, work days and harvest, produce stock,
beneficiaries, allocation, signed distribution and the season report."""
