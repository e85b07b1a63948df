"""Chat messages as they travel between Distillery's services.

Two shapes: ``ChatMessage`` is what a production call sent and received (OpenAI chat
completions format, as recorded in Langfuse), ``FineTuneMessage`` is one line of OpenAI's
chat fine-tuning format. Tool calls and tool definitions are shared by both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator


class ChatRole(StrEnum):
    """Author of a chat message in the OpenAI chat completions API."""

    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class FineTuneRole(StrEnum):
    """Roles OpenAI's chat fine-tuning format accepts."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class FunctionCall(BaseModel):
    """The function an assistant asked to call, with its arguments."""

    name: str = Field(
        min_length=1, description="Name of the called function, as declared in tools."
    )
    arguments: str = Field(
        description="Arguments as the model produced them: a JSON-encoded object, kept as text "
        "because models sometimes emit invalid JSON and the cleaner must be able to see it."
    )


class ToolCall(BaseModel):
    """One tool call inside an assistant message."""

    id: str = Field(min_length=1, description="Call id; the answering tool message repeats it.")
    type: Literal["function"] = Field(default="function", description="Always 'function'.")
    function: FunctionCall = Field(description="Function name and JSON-encoded arguments.")


class FunctionDefinition(BaseModel):
    """A function the model may call."""

    name: str = Field(min_length=1, description="Function name the model uses in its tool calls.")
    description: str | None = Field(
        default=None, description="What the function does, for the model."
    )
    parameters: dict[str, JsonValue] | None = Field(
        default=None, description="JSON Schema of the function's arguments object."
    )
    strict: bool | None = Field(
        default=None, description="Whether the provider enforced the parameters schema exactly."
    )


class ToolDefinition(BaseModel):
    """One entry of the ``tools`` list sent with a chat completion request."""

    type: Literal["function"] = Field(default="function", description="Always 'function'.")
    function: FunctionDefinition = Field(description="The callable function's declaration.")


class TextPart(BaseModel):
    """A text part of a multi-part message content."""

    type: Literal["text"] = Field(default="text", description="Always 'text'.")
    text: str = Field(description="The text of this part.")


class NonTextPart(BaseModel):
    """A content part that is not text (image, audio, file), kept verbatim.

    Production calls may carry these; the contract keeps them so that the cleaner can
    reject the example with a reason instead of the ingester failing to map it.
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        min_length=1,
        description="Part type as OpenAI names it (image_url, input_audio, file, ...); never 'text'. "
        "The part's other fields are kept as they came.",
    )

    @model_validator(mode="after")
    def _not_text(self) -> NonTextPart:
        if self.type == "text":
            raise ValueError("a content part of type 'text' needs a 'text' string")
        return self


ContentPart = TextPart | NonTextPart


class ChatMessage(BaseModel):
    """One message of a chat completion request or response (OpenAI chat format)."""

    role: ChatRole = Field(description="Who wrote the message.")
    content: str | list[ContentPart] | None = Field(
        default=None,
        description="Text, or a list of content parts; None when an assistant message only "
        "carries tool calls.",
    )
    name: str | None = Field(default=None, description="Optional participant name.")
    tool_calls: list[ToolCall] | None = Field(
        default=None, description="Tool calls the assistant made in this message."
    )
    tool_call_id: str | None = Field(
        default=None, description="On a tool message: the id of the tool call it answers."
    )

    def text(self) -> str:
        """The message's text: the content string, or its text parts joined by newlines."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))

    def has_non_text_content(self) -> bool:
        """True when any content part is not text (the cleaner rejects such examples)."""
        return isinstance(self.content, list) and any(
            isinstance(p, NonTextPart) for p in self.content
        )


class FineTuneMessage(BaseModel):
    """One message of an example in OpenAI's chat fine-tuning format."""

    role: FineTuneRole = Field(description="system, user, assistant or tool.")
    content: str | None = Field(
        default=None,
        description="Message text; None only on an assistant message that carries tool calls.",
    )
    name: str | None = Field(default=None, description="Optional participant name.")
    tool_calls: list[ToolCall] | None = Field(
        default=None, description="On an assistant message: the tool calls it makes."
    )
    tool_call_id: str | None = Field(
        default=None, description="On a tool message: the id of the tool call it answers."
    )
    weight: Literal[0, 1] | None = Field(
        default=None,
        description="Assistant messages only: 1 to train on this turn, 0 to skip it (turns "
        "that are not the teacher's output). None means the provider's default (train).",
    )

    @model_validator(mode="after")
    def _check_role_fields(self) -> FineTuneMessage:
        if self.weight is not None and self.role is not FineTuneRole.ASSISTANT:
            raise ValueError(f"weight is only allowed on assistant messages, not on {self.role}")
        if self.tool_calls and self.role is not FineTuneRole.ASSISTANT:
            raise ValueError(
                f"tool_calls are only allowed on assistant messages, not on {self.role}"
            )
        if self.role is FineTuneRole.TOOL and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id it answers")
        if self.content is None and not self.tool_calls:
            raise ValueError(f"a {self.role} message needs content or tool_calls")
        return self
