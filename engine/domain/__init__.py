"""What the engine talks about: roles, actors, result dataclasses, errors.

Also clocks and hashing. It imports nothing else of the engine.
"""
