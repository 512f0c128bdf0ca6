"""What `run.py serve` serves: the dashboard at /, the class game's teacher page at /class and
the students' page at /join, in one Solara server (so that they share one class room).

When `serve` listens beyond this machine (ATTENTION_MARKET_GATE_DASHBOARD=1), the dashboard is
the teacher's too: a student who types the address without /join is sent there, and does not
start a model of their own on the teacher's laptop. Nothing imports this module but `serve`
(through `solara run`).
"""

import os

import solara

from simulation.dashboard.app import Dashboard
from simulation.dashboard.class_pages import Student, Teacher, _html, use_teacher

GATED = os.environ.get("ATTENTION_MARKET_GATE_DASHBOARD") == "1"


@solara.component
def Layout(children=[]):  # noqa: B006 (Solara's signature)
    """Solara's page frame without its navigation tabs: each page is opened by its own address."""
    return solara.AppLayout(children=children, navigation=False)


@solara.component
def Home():
    router = solara.use_router()
    if GATED and not use_teacher(router, "/"):
        _html("p", "This dashboard is the teacher's. To play the class game, open "
                   "<a href='/join'>/join</a>.")
        return
    Dashboard()


routes = [
    solara.Route(path="/", component=Home, label="Dashboard", layout=Layout),
    solara.Route(path="class", component=Teacher, label="Class game (teacher)"),
    solara.Route(path="join", component=Student, label="Class game (students)"),
]
