"""What an operator's search means: an order id, an email or a phone, normalised."""

from services.order.domain.search import search_key


def test_an_order_id_is_taken_as_it_is() -> None:
    assert search_key("  ord_0123abcd ") == ("order_id", "ord_0123abcd")


def test_an_email_is_compared_lower_cased() -> None:
    assert search_key("Li.Wei@Example.COM") == ("email", "li.wei@example.com")


def test_a_phone_is_compared_as_plus_and_digits_whatever_its_spacing() -> None:
    assert search_key("+86 138-0013-8000") == ("phone", "+8613800138000")
    assert search_key("8613800138000") == ("phone", "+8613800138000")


def test_anything_else_is_no_search() -> None:
    assert search_key("hello") is None
    assert search_key("12") is None
