"""A tiny synthetic corpus in the official SGD JSON layout, so the dialogue CLI tests run without the real data."""

import json

_CITIES = ("paris", "tokyo", "lima", "oslo")
_PLACES = ("sushi bar", "taco place", "noodle house")


def _dialogue(i: int) -> list[str]:
    city, place, n = _CITIES[i % 4], _PLACES[i % 3], 2 + i % 3
    return [f"hello, i want a table for {n} in {city}.",
            f"sure. what kind of food would you like in {city}?",
            f"a {place}, please.",
            f"i found a {place} in {city} with a table for {n}. shall i book it?",
            "yes, book it." if i % 2 else "no, thanks.",
            "done, your table is booked." if i % 2 else "okay, anything else?"]


def _write(path, first: int, count: int) -> None:
    data = [{"dialogue_id": f"99_{k:05d}", "services": ["Restaurants_1"],
             "turns": [{"speaker": ("USER", "SYSTEM")[t % 2], "utterance": u, "frames": []}
                       for t, u in enumerate(_dialogue(k))]}
            for k in range(first, first + count)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def write_sgd(home) -> list[str]:
    """``home/sgd/train/dialogues_013.json`` (24 dialogues) and ``home/sgd/dev/dialogues_002.json`` (6).

    File numbers without a pinned sha256 (the pinned 001-012 would fail their check); returns the options
    that point ``glassnet train`` at them.
    """
    _write(home / "sgd" / "train" / "dialogues_013.json", 0, 24)
    _write(home / "sgd" / "dev" / "dialogues_002.json", 24, 6)
    return ["--data", "sgd", "--data-dir", str(home), "--train-files", "13", "--dev-files", "2"]


# a model small enough to train in well under a second: 8 steps of 8 examples, E = 8, H = 16
TINY = ["--embed", "8", "--hidden", "16", "--latent", "4", "--min-freq", "1", "--batch-size", "8", "--steps", "8",
        "--checkpoint-every", "3", "--seed", "5", "--quiet"]
