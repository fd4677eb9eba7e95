"""The active-active events' live conflict feed: its contract, publisher and connections function."""
