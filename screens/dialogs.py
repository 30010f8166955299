"""Small modal dialogs shared by the screens."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

AnswerType = TypeVar("AnswerType")


class FormDialog(ModalScreen[AnswerType | None]):
    """A dialog answered from its inputs. Enter in an input, or the button whose
    id is ``OK_BUTTON``, submits it: :meth:`submit` checks the inputs and
    dismisses with the answer, or says what is missing. Any other button, or
    ``cancel`` (bound to escape), dismisses it with None."""

    OK_BUTTON: ClassVar[str] = ""

    def submit(self) -> None:
        """Dismiss with the answer read from the inputs, or say what is missing."""
        raise NotImplementedError

    def focus_next_input(self, current: Input) -> bool:
        """Whether enter in ``current`` moves to another input rather than
        submitting (never, unless a dialog says otherwise)."""
        return False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.focus_next_input(event.input):
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == self.OK_BUTTON:
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonDialog(FormDialog[str]):
    """Ask for a reason (or any one line of text). Dismisses with the text, or
    None on cancel. An empty answer is refused when ``required``."""

    DEFAULT_CSS = """
    ReasonDialog { align: center middle; }
    ReasonDialog > Vertical {
        width: 80; max-width: 95%; height: auto; max-height: 90%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    ReasonDialog Input { margin: 1 0; }
    ReasonDialog #reason-error { color: $error; height: auto; }
    ReasonDialog Horizontal { height: auto; align-horizontal: right; }
    ReasonDialog Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]

    OK_BUTTON = "reason-ok"

    def __init__(self, title: str, *, prompt: str = "Reason", initial: str = "",
                 required: bool = True, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.initial = initial
        self.required = required
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, markup=False, classes="dialog-text")
            yield Input(value=self.initial, placeholder=self.placeholder or self.prompt,
                        id="reason-input")
            yield Static("", id="reason-error")
            with Horizontal():
                yield Button("OK", variant="primary", id="reason-ok")
                yield Button("Cancel", id="reason-cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def submit(self) -> None:
        value = self.query_one(Input).value.strip()
        if self.required and not value:
            self.query_one("#reason-error", Static).update(f"{self.prompt} is required.")
            return
        self.dismiss(value)


class ChoiceDialog(ModalScreen[bool]):
    """A question answered by one of two buttons: ``YES`` (its id and label)
    dismisses with True, ``NO`` with False; the text above them is
    :meth:`compose_text`'s."""

    YES: ClassVar[tuple[str, str]]
    NO: ClassVar[tuple[str, str]]

    def compose_text(self) -> ComposeResult:
        """The question's text."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield from self.compose_text()
            with Horizontal():
                yield Button(self.YES[1], variant="warning", id=self.YES[0])
                yield Button(self.NO[1], id=self.NO[0])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == self.YES[0])


class ConfirmDialog(ChoiceDialog):
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 90%; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmDialog Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmDialog Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("y", "confirm", "Yes", id="confirm.yes"),
    ]

    YES = ("confirm-yes", "Yes")
    NO = ("confirm-no", "No")

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose_text(self) -> ComposeResult:
        yield Static(self.question, markup=False, classes="dialog-text")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ConflictDialog(ChoiceDialog):
    """A change refused because the case changed since it was read: names the
    case and who changed it; ``r`` reloads it (the input on the screen
    behind is kept), ``esc`` keeps everything as it is."""

    DEFAULT_CSS = """
    ConflictDialog { align: center middle; }
    ConflictDialog > Vertical {
        width: 80; max-width: 95%; height: auto; max-height: 90%; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConflictDialog .conflict-title { text-style: bold; margin-bottom: 1; }
    ConflictDialog Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConflictDialog Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Keep as it is", id="conflict.keep"),
        Binding("r", "reload", "Reload the case", id="conflict.reload"),
    ]

    YES = ("conflict-reload", "Reload the case")
    NO = ("conflict-keep", "Keep as it is")

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose_text(self) -> ComposeResult:
        yield Static(self.title_text, classes="conflict-title", markup=False)
        yield Static(self.message, id="conflict-message", markup=False)

    def action_reload(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)
