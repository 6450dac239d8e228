"""The pure parts of `make bench-peers` (Eval/peers/compare.py): no trellis, no torch."""

import os
import sys
import tempfile
import unittest

from peers import compare


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def figures():
    """A `trellis bench` and a peer JSON object with every figure the table compares."""
    trellis = {"training_tokens_per_second": {"bilstm+crf": 50.0, "bilstm+softmax": 10.0},
               "tagging_tokens_per_second_batch32": 100.0,
               "tagging_tokens_per_second_batch1": 10.0,
               "tag_process_tokens_per_second": 300.0, "peak_memory_megabytes": 80.0}
    peer = {"training_tokens_per_second": {"bilstm+crf": 10.0, "bilstm+softmax": 5.0},
            "tagging_tokens_per_second_batch32": 20.0,
            "tagging_tokens_per_second_batch1": 1.0, "peak_memory_megabytes": 400.0}
    return trellis, peer


class PeerComparisonTests(unittest.TestCase):
    def test_best_takes_the_fastest_run_and_the_smallest_memory(self):
        runs = {
            1: {"training_tokens_per_second": {"bilstm+crf": 900.0},
                "peak_memory_megabytes": 400.0},
            2: {"training_tokens_per_second": {"bilstm+crf": 1500.0},
                "peak_memory_megabytes": 450.0},
        }
        self.assertEqual(compare.best(runs, "training/bilstm+crf"), (1500.0, 2))
        self.assertEqual(compare.best(runs, "peak_memory_megabytes"), (400.0, 1))

    def test_repeated_copies_stay_sentences_and_count_tokens_without_document_markers(self):
        with tempfile.TemporaryDirectory() as scratch:
            source = write(scratch, "test.conll", "-DOCSTART- O\n\na B-X\nb O\n\n\nc O")
            big = os.path.join(scratch, "big.conll")
            self.assertEqual(compare.repeated(source, 3, big), 9)
            with open(big, encoding="utf-8") as f:
                text = f.read()
            self.assertEqual(text.count("c O\n\n-DOCSTART-"), 2)
            self.assertTrue(text.endswith("c O\n\n"))

    def test_the_peer_must_train_with_trellis_settings(self):
        trellis = {"training_settings": {"hidden_size": 100, "dropout": 0.5}}
        compare.check_same_settings(trellis, {"training_settings": {"hidden_size": 100,
                                                                    "dropout": 0.5}})
        for peer in ({"hidden_size": 200, "dropout": 0.5}, {"hidden_size": 100}):
            with self.assertRaises(SystemExit) as stop:
                compare.check_same_settings(trellis, {"training_settings": peer})
            self.assertIn("does not train as Trellis does", str(stop.exception))

    def test_check_tagged_refuses_a_short_or_different_output(self):
        with tempfile.TemporaryDirectory() as scratch:
            source = write(scratch, "in.conll", "a x\nb y\n\nc z\n")
            tagged = write(scratch, "ok.conll", "a x O\nb y O\n\nc z B-T\n")
            compare.check_tagged(source, tagged)  # returns: every token line came back
            for bad in ("a x O\nb y O\n", "a x O\nb x O\n\nc z O\n", "a x\nb y\n\nc z\n"):
                with self.assertRaises(SystemExit) as stop:
                    compare.check_tagged(source, write(scratch, "bad.conll", bad))
                self.assertIn("is not that of", str(stop.exception))

    def test_table_marks_a_missed_target(self):
        trellis, peer = figures()
        lines, rows = compare.table(trellis, {2: peer})
        by_figure = {row["figure"]: row for row in rows}
        self.assertFalse(by_figure["training BiLSTM-CRF, tokens/s"]["target_met"])
        process = by_figure["whole `trellis tag` process vs. peer batch 32, tokens/s"]
        self.assertEqual((process["ratio"], process["target_met"]), (15.0, True))
        self.assertIn("NOT met", lines[1])

    def test_paired_rows_follow_their_figures_with_the_median_of_the_rounds(self):
        trellis, peer = figures()
        paired = {"training": {"trellis": [90.0, 120.0, 100.0], "peer": [10.0, 10.0, 8.0],
                               "ratios": [9.0, 12.0, 12.5], "median_ratio": 12.0,
                               "peer_threads": 2},
                  "tagging": {"trellis": [300.0, 310.0, 280.0], "peer": [40.0, 20.0, 30.0],
                              "ratios": [7.5, 15.5, 9.33], "median_ratio": 9.33,
                              "peer_threads": 1}}
        lines, rows = compare.table(trellis, {2: peer}, paired)
        labels = [row["figure"] for row in rows]
        self.assertEqual(labels[1], "training BiLSTM-CRF, 3 paired rounds (median ratio)")
        self.assertEqual(labels[6], "whole `trellis tag` vs. peer batch 32, 3 paired rounds")
        self.assertEqual(labels[5], "whole `trellis tag` process vs. peer batch 32, tokens/s")
        self.assertEqual(len(lines), 1 + len(rows))
        training, tagging = rows[1], rows[6]
        self.assertEqual((training["trellis"], training["peer"]), (100.0, 10.0))
        self.assertEqual((training["ratio"], training["target_met"]), (12.0, True))
        self.assertEqual((tagging["ratio"], tagging["target_met"]), (9.33, False))
        self.assertEqual(tagging["round_ratios"], [7.5, 15.5, 9.33])
        # Each kind of round names the thread count the peer ran it on.
        self.assertEqual((training["peer_threads"], tagging["peer_threads"]), (2, 1))
        self.assertIn("NOT met", lines[7])
        self.assertIn("rounds: 7.50, 15.50, 9.33", lines[7])

    def test_paired_rounds_are_told_apart_by_where_the_cpus_were(self):
        paired = {"training": {"ratios": [9.0, 12.0, 12.5, 8.0],
                               "placements": ["apart", "shared", "shared", "apart"]},
                  "tagging": {"ratios": [14.0, 15.0, 13.0, 14.5]}}
        self.assertEqual(compare.placement_lines(paired), [
            "training, paired rounds by placement: 2 rounds with the CPUs sharing a cache, "
            "median 12.25x; 2 rounds without, median 8.50x"])
        paired["training"]["placements"] = ["apart"] * 4
        self.assertEqual(compare.placement_lines(paired), [
            "training, paired rounds by placement: 0 rounds with the CPUs sharing a cache; "
            "4 rounds without, median 10.50x"])

    def test_a_failing_command_stops_the_comparison(self):
        with self.assertRaises(SystemExit) as stop:
            compare.checked([sys.executable, "-c", "raise SystemExit(3)"], capture=True)
        self.assertIn("status 3", str(stop.exception))


if __name__ == "__main__":
    unittest.main()
