"""Teams (班组): a lead or two, agents who belong to one team at a time,
and the history of who was in which team when."""
