"""Tracking IDs: a sequence number from 1,000,000 up followed by one Damm check digit (DESIGN §5)."""
FIRST_SEQUENCE_NUMBER = 1_000_000

# The Damm operation table (a weakly totally anti-symmetric quasigroup of order 10).
_DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_digit(digits):
    interim = 0
    for char in digits:
        interim = _DAMM_TABLE[interim][int(char)]
    return interim


def make_tracking_id(sequence_number):
    digits = str(sequence_number)
    return f"{digits}{damm_digit(digits)}"


def is_valid_tracking_id(text):
    """True for a well-formed ID whose check digit holds (a whole ID checks to 0)."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return False
    if len(text) < 8 or text.startswith("0"):
        return False
    return damm_digit(text) == 0
