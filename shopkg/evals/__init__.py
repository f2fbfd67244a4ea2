"""Evaluation harnesses that drive a whole build and the assistant over it.

They sit in the top layer because they use what they evaluate: a harness builds a catalog
(:mod:`jobs`), loads the assistant over it (:mod:`assistant`) and scores its answers. The
evaluations of one package's own model (extraction, images, QA ranking) stay in that package.
"""
