"""What `run.py serve` serves: the dashboard at /, the class game's teacher page at /class and
the students' page at /join, in one Solara server (so that they share one class room).

Nothing imports this module but `serve` (through `solara run`).
"""

import solara

from simulation.dashboard.app import Dashboard
from simulation.dashboard.class_pages import Student, Teacher


@solara.component
def Layout(children=[]):  # noqa: B006 (Solara's signature)
    """Solara's page frame without its navigation tabs: each page is opened by its own address."""
    return solara.AppLayout(children=children, navigation=False)


routes = [
    solara.Route(path="/", component=Dashboard, label="Dashboard", layout=Layout),
    solara.Route(path="class", component=Teacher, label="Class game (teacher)"),
    solara.Route(path="join", component=Student, label="Class game (students)"),
]
