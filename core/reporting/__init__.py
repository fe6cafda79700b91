"""Reading across domains for people who compare: village overview, township and county
comparison, workbench figures, rankings and star households, and searching the audit log."""
