"""The shopping assistant: search, exhibition and question answering over the KG.

A top-level package beside ``retrieval`` because it holds conversation state (sessions, turns,
references such as "the second one") on top of retrieval, and the web app calls only this.
"""
