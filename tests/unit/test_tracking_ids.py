"""Tracking IDs (DESIGN §5): the Damm check digit catches every single-digit error and adjacent swap."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.tracking_ids import (
    FIRST_SEQUENCE_NUMBER, damm_digit, is_valid_tracking_id, make_tracking_id,
)

DIGITS = "0123456789"
SAMPLE_SEQUENCE_NUMBERS = (FIRST_SEQUENCE_NUMBER, 1_000_001, 1_234_567, 4_999_999, 9_999_999, 12_345_678_901)
sequence_numbers = st.integers(min_value=FIRST_SEQUENCE_NUMBER, max_value=10**15)


def substitutions(tracking_id):
    """Every ID that differs from `tracking_id` in exactly one digit."""
    for position, original in enumerate(tracking_id):
        for digit in DIGITS:
            if digit != original:
                yield tracking_id[:position] + digit + tracking_id[position + 1:]


def adjacent_transpositions(tracking_id):
    """Every ID made by swapping two neighbouring, distinct digits of `tracking_id`."""
    for position in range(len(tracking_id) - 1):
        left, right = tracking_id[position], tracking_id[position + 1]
        if left != right:
            yield tracking_id[:position] + right + left + tracking_id[position + 2:]


def test_first_tracking_id_matches_the_design_example():
    assert make_tracking_id(FIRST_SEQUENCE_NUMBER) == "10000004"


def test_tracking_id_is_the_sequence_number_followed_by_its_check_digit():
    tracking_id = make_tracking_id(1_234_567)
    assert tracking_id[:-1] == "1234567"
    assert tracking_id[-1] == str(damm_digit("1234567"))


@pytest.mark.parametrize("digits, check", [("572", 4), ("5724", 0), ("", 0), ("0", 0)])
def test_damm_digit_known_values(digits, check):
    assert damm_digit(digits) == check


@pytest.mark.parametrize("sequence_number", SAMPLE_SEQUENCE_NUMBERS)
def test_made_ids_are_valid(sequence_number):
    assert is_valid_tracking_id(make_tracking_id(sequence_number))


@pytest.mark.parametrize("sequence_number", SAMPLE_SEQUENCE_NUMBERS)
def test_every_single_digit_substitution_is_caught(sequence_number):
    tracking_id = make_tracking_id(sequence_number)
    caught = [not is_valid_tracking_id(wrong) for wrong in substitutions(tracking_id)]
    assert len(caught) == 9 * len(tracking_id)
    assert all(caught)


@pytest.mark.parametrize("sequence_number", SAMPLE_SEQUENCE_NUMBERS)
def test_every_adjacent_transposition_is_caught(sequence_number):
    tracking_id = make_tracking_id(sequence_number)
    swapped = list(adjacent_transpositions(tracking_id))
    assert swapped or len(set(tracking_id)) == 1
    assert not any(is_valid_tracking_id(wrong) for wrong in swapped)


@settings(max_examples=200, deadline=None)
@given(sequence_numbers)
def test_random_ids_catch_every_substitution_and_transposition(sequence_number):
    tracking_id = make_tracking_id(sequence_number)
    assert is_valid_tracking_id(tracking_id)
    for wrong in (*substitutions(tracking_id), *adjacent_transpositions(tracking_id)):
        assert not is_valid_tracking_id(wrong), wrong


@settings(max_examples=200, deadline=None)
@given(sequence_numbers)
def test_distinct_sequence_numbers_give_distinct_ids(sequence_number):
    assert make_tracking_id(sequence_number) != make_tracking_id(sequence_number + 1)


@pytest.mark.parametrize("text", [
    "",
    "1000000",            # the sequence number without its check digit: too short
    "1000004",            # seven digits, even if the check digit held
    "01000004",           # leading zero
    "00000000",           # all zeros checks to 0 but is not an ID
    "1000000A",
    "10000-004",
    " 10000004",
    "10000004 ",
    "+10000004",
    "1000000٤",           # Arabic-Indic digit four
    "١٠٠٠٠٠٠٤",           # the whole ID in Arabic-Indic digits
    "１０００００００４",  # full-width digits
    "10000004²",
    None,
    10000004,
    b"10000004",
])
def test_malformed_ids_are_rejected(text):
    assert is_valid_tracking_id(text) is False


def test_valid_id_with_wrong_check_digit_is_rejected():
    assert not is_valid_tracking_id("10000005")
