"""The shopping assistant: search, exhibition and question answering over the KG.

A top-level package beside ``retrieval`` because it holds conversation state (sessions, turns,
references such as "the second one") on top of retrieval, and the web app calls only this.
"""

from assistant.api import AssistantAPI


def build_assistant(settings: object, published: object = None) -> AssistantAPI:
    """The assistant over a published build (see ``jobs.publish``), else over the last build
    in ``settings.data_dir`` (imports the heavy parts)."""
    from assistant.loader import build_assistant as load

    return load(settings, published)  # type: ignore[arg-type]
