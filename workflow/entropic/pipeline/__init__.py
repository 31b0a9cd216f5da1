"""What joins the library to the rules: configuration (config validation against the schema and the backends'
keys), provenance (what a job records of its settings), trajectories (the hypotheses in play, sharded
trajectories and their merge), tracks (the mixture experiments and the models: what the rules ask of each),
targets (what each rule file registers, and `all`), plotting (figure style)."""
