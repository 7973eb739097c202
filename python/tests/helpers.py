import numpy as np


def same_entities(python, cli):
    """True when two entity lists agree on every key; scores compared as float32 (the CLI writes
    them with %.9g, which reads back to the same float32)."""
    if len(python) != len(cli):
        return False
    for p, c in zip(python, cli):
        if set(p) != set(c):
            return False
        for key in p:
            if key == "score":
                if np.float32(p[key]) != np.float32(c[key]):
                    return False
            elif p[key] != c[key]:
                return False
    return True
