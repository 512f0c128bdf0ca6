"""The pages `run.py serve` runs (site.py's routes): the classroom dashboard (app.py) and the class game (class_pages.py); nothing imports them."""
