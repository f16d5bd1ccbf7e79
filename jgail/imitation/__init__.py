"""Imitation: the discriminator, reward forms, GAIL's loop and behavioural cloning."""
