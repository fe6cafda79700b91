from core.platform.natural import chinese_number, natural_key


def test_grids_sort_in_the_order_people_count_them():
    names = ["第三网格", "第十网格", "第一网格", "第十一网格", "第二网格", "第五网格", "第四网格"]
    assert sorted(names, key=natural_key) == ["第一网格", "第二网格", "第三网格", "第四网格", "第五网格",
                                              "第十网格", "第十一网格"]


def test_door_numbers_and_arabic_groups_sort_by_number():
    assert sorted(["10-001", "2-009", "2-010", "1-100"], key=natural_key) == ["1-100", "2-009", "2-010", "10-001"]
    assert sorted(["组12", "组2", "组1"], key=natural_key) == ["组1", "组2", "组12"]


def test_chinese_numerals_read_as_numbers():
    assert [chinese_number(t) for t in ["一", "十", "十一", "二十三", "一百零五", "二〇二六"]] == [1, 10, 11, 23, 105, 2026]


def test_names_without_numbers_and_empty_values_still_sort():
    assert sorted(["网格乙", None, "3号", "网格甲", ""], key=natural_key)[:3] == [None, "", "3号"]
    assert natural_key(None) == natural_key("") == ()
