from ezspark.engine.innovation import InnovationRegistry


class TestInnovationRegistry:
    def test_initial_pairs_are_numbered_input_major(self):
        reg = InnovationRegistry(4, 2)
        # (input a, output I+j) -> (a-1)*O + j
        assert reg.pair(1, 5) == 1 and reg.pair(1, 6) == 2
        assert reg.pair(3, 6) == 6 and reg.pair(4, 6) == 8
        assert reg.next_innovation == 9 and reg.next_node == 7

    def test_new_pair_gets_next_number_once(self):
        reg = InnovationRegistry(2, 1)
        first = reg.pair(1, 2)  # not an initial pair (2 is an input); still numbered
        assert first == 3
        assert reg.pair(1, 2) == 3
        assert reg.pair(2, 2) == 4

    def test_split_creates_node_and_two_numbers_once(self):
        reg = InnovationRegistry(4, 2)
        assert reg.split_node(3) is None
        node, a, b = reg.split(3, 2, 5)
        assert (node, a, b) == (7, 9, 10)
        assert reg.split(3, 2, 5) == (7, 9, 10)
        assert reg.split_node(3) == 7
        assert reg.pair(2, 7) == 9 and reg.pair(7, 5) == 10
        assert reg.split(6, 3, 6) == (8, 11, 12)

    def test_round_trip_through_arrays(self):
        reg = InnovationRegistry(3, 2)
        reg.split(2, 1, 5)
        reg.pair(6, 4)
        back = InnovationRegistry.from_arrays(**reg.to_arrays())
        assert back == reg
        assert back.pair(99, 4) == reg.pair(99, 4)
        assert back.next_node == reg.next_node
