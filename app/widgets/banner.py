"""The banner that tells, at all times, whose Vigil this is and whether the
data are real: "TRAINING — synthetic data" in training, "EVALUATION" on an
evaluation database."""

from __future__ import annotations

from textual.widgets import Static

from app.services.context import ServiceContext

TRAINING_TEXT = "TRAINING — synthetic data"
EVALUATION_TEXT = "EVALUATION — sample data, never live"


def banner_text(context: ServiceContext) -> str:
    actor = context.actor
    area = actor.area_command or "force-wide"
    if context.training:
        return f"{TRAINING_TEXT}  ·  demonstrating as {actor.role}  ·  {actor.display_name}"
    if context.evaluation:
        return f"{EVALUATION_TEXT}  ·  {actor.display_name}  ·  {actor.role}  ·  {area}"
    return f"{actor.display_name}  ·  {actor.role}  ·  {area}"


class TrainingBanner(Static):
    """One line docked at the top of every screen."""

    def __init__(self, context: ServiceContext) -> None:
        super().__init__(banner_text(context), markup=False)
        if not context.training and not context.evaluation:
            self.add_class("-live")
