"""What joins the library to the rules: configuration (config validation against the schema and the backends'
keys), provenance (what a job records of its settings), trajectories (the hypotheses in play, sharded
trajectories and their merge), plotting (figure style)."""
