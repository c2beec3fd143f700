from mes.comptes.codes import CODE_LENGTH, code_display, code_generate, code_hash, code_matches, code_normalize


def test_codes_are_random_typed_leniently_and_stored_hashed(settings):
    codes = {code_generate() for _ in range(1000)}
    assert len(codes) == 1000
    code = codes.pop()
    assert len(code) == CODE_LENGTH
    stored = code_hash(code)
    assert code not in stored and len(stored) == 64
    typed = code_display(code).lower().replace("0", "o").replace("1", "l")
    assert code_normalize(typed) == code
    assert code_matches(f"  {typed} ", stored)
    assert not code_matches(code_generate(), stored)
    assert not code_matches(code, "")
    settings.SECRET_KEY = "an-other-secret-key-" * 3
    assert not code_matches(code, stored)
