"""The semantic layer: facts (offline parser or LLM), their ontology, and the persona induced from them.

See ``memory/semantic/README.md``.
"""
