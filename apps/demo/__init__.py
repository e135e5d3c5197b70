"""The demo data `make run` loads (`load_demo`): it drives every layer's services, so it
sits at the top with the pages and nothing imports it."""
