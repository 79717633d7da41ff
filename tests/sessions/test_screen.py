from tutti.sessions.screen import body, pane_delta


def test_delta_is_what_follows_the_overlap():
    before = "a\nb\nc"
    after = "b\nc\nd\ne"
    assert pane_delta(before, after) == "d\ne"


def test_delta_of_identical_screens_is_empty():
    assert pane_delta("x\ny", "x\ny") == ""


def test_delta_without_overlap_keeps_only_unseen_lines():
    assert pane_delta("prompt\nold", "new 1\nprompt\nnew 2") == "new 1\nnew 2"


def test_body_ignores_footer_lines_and_counters():
    a = "answer\n✻ Working (3s)\n\n> \nctx 40% left"
    b = "answer\n✻ Working (4s)\n\n> \nctx 39% left"
    assert body(a) == body(b)
    assert body("answer 2\nx\ny\nz") != body("answer\nx\ny\nz")


def test_delta_of_a_tui_is_the_text_above_the_fixed_input_box():
    before = "banner\n> first\nDone.\n────\n❯\n────\nctx 40% left"
    after = "banner\n> first\nDone.\n> second\nDone.\n────\n❯\n────\nctx 37% left"
    assert pane_delta(before, after) == "> second\nDone."
