import pytest
from biip.gtin import Gtin as BiipGtin

from shared.barcodes import gtin_check_digit, is_valid_gtin, to_gtin14

# Published examples: Wikipedia EAN-13 / EAN-8 / UPC-A articles, GS1 General
# Specifications (09506000134352, 10614141000415), biip doctests (9501101531000, 95012346).
VALID = [
    ("96385074", "00000096385074"),
    ("95012346", "00000095012346"),
    ("036000291452", "00036000291452"),
    ("012345678905", "00012345678905"),
    ("4006381333931", "04006381333931"),
    ("5901234123457", "05901234123457"),
    ("9501101531000", "09501101531000"),
    ("09506000134352", "09506000134352"),
    ("10614141000415", "10614141000415"),
]


@pytest.mark.parametrize(("text", "gtin14"), VALID)
def test_published_gtins_are_valid_and_pad_to_14(text: str, gtin14: str) -> None:
    assert is_valid_gtin(text)
    assert to_gtin14(text) == gtin14
    assert gtin_check_digit(text[:-1]) == int(text[-1])


@pytest.mark.parametrize(
    ("body", "check"),
    [("950110153100", 0), ("9501234", 6), ("400638133393", 1), ("03600029145", 2)],
)
def test_check_digit_of_body(body: str, check: int) -> None:
    assert gtin_check_digit(body) == check


def test_check_digit_serves_sscc_too() -> None:
    # SSCC (00)106141411234567897 from the GS1 General Specifications.
    assert gtin_check_digit("10614141123456789") == 7


@pytest.mark.parametrize(
    "text",
    [
        "4006381333932",  # check digit off by one
        "96385075",
        "036000291453",
        "09506000134353",
        "400638133393",  # 12 digits, but not the UPC-A it looks like
        "1234567",  # no GTIN has 7 digits
        "123456789012345",  # nor 15
        "",
        "40063813339 1",
        " 4006381333931",
        "4006381333931\n",
        "ABCDEFGH",
        "\u0664\u0660\u0660\u0666\u0663\u0668\u0661\u0663\u0663\u0663\u0669\u0663\u0661",
    ],
)
def test_invalid_gtins(text: str) -> None:
    assert not is_valid_gtin(text)
    with pytest.raises(ValueError, match="not a valid GTIN"):
        to_gtin14(text)


def test_to_gtin14_names_the_expected_check_digit() -> None:
    with pytest.raises(ValueError, match="should end in 1"):
        to_gtin14("4006381333932")


@pytest.mark.parametrize("body", ["", "12a4", "\u0663\u0664", "12 3"])
def test_check_digit_rejects_non_digits(body: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        gtin_check_digit(body)


def test_why_we_check_ascii_ourselves() -> None:
    # biip 5.2.0 tests str.isdecimal(), so it takes Arabic-Indic digits for a GTIN and
    # returns a GTIN-14 mixing scripts; our rule does not.
    arabic = "\u0664\u0660\u0660\u0666\u0663\u0668\u0661\u0663\u0663\u0663\u0669\u0663\u0661"
    assert BiipGtin.parse(arabic).as_gtin_14() != "04006381333931"
    assert not is_valid_gtin(arabic)
