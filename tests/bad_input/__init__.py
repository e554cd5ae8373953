"""Small builders for the bad-input corpus (tests/test_bad_input.py): files made at test time, no binary blobs."""
