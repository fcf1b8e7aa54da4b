"""The retrieval grid that `toolkit search` and every run's report draw: one row per query."""

import torch
from PIL import Image

from toolkit.reporting.image_grid import CAPTION_LINES, FRAME, GAP, LINE_HEIGHT, QUERY_COLOUR, TILE, WRONG_COLOUR, retrieval_grid


def grey(value: int, height: int = 8, width: int = 8) -> torch.Tensor:
    return torch.full((1, height, width), value, dtype=torch.uint8)


def test_each_query_is_a_row_and_each_neighbour_a_column(tmp_path):
    rows = [(grey(0), "query a"), (grey(255), "query b")]
    neighbours = [[(grey(50), "1", 0.1, True), (grey(90), "2", 0.2, False)], [(grey(200), "1", 0.3, None)]]
    retrieval_grid(rows, neighbours, tmp_path / "grid.png", "two queries")
    picture = Image.open(tmp_path / "grid.png").convert("L")
    title_height, row_height = 2 * GAP + LINE_HEIGHT, TILE + CAPTION_LINES * LINE_HEIGHT + GAP
    assert picture.size == (GAP + 3 * (TILE + GAP), title_height + 2 * row_height)
    centre = (GAP + TILE // 2, title_height + row_height + TILE // 2)  # the second row's query: query b, white
    assert picture.getpixel(centre) == 255


def test_a_query_is_framed_blue_and_a_wrong_neighbour_red(tmp_path):
    neighbours = [[(grey(128), "3", 0.5, True), (grey(128), "7", 0.9, False)]]
    retrieval_grid([(grey(128), "query")], neighbours, tmp_path / "grid.png", "frames")
    picture = Image.open(tmp_path / "grid.png").convert("RGB")
    top = next(y for y in range(picture.height) if picture.getpixel((GAP + TILE // 2, y)) == QUERY_COLOUR)
    middle = top + FRAME + 4
    assert picture.getpixel((GAP, middle)) == QUERY_COLOUR
    assert picture.getpixel((GAP + (TILE + GAP), middle)) == (128, 128, 128)  # a right neighbour: no frame
    assert picture.getpixel((GAP + 2 * (TILE + GAP), middle)) == WRONG_COLOUR


def test_small_images_are_enlarged_without_blurring(tmp_path):
    checkerboard = (torch.arange(4).view(2, 2) % 3 == 0).to(torch.uint8).mul(255).unsqueeze(0)
    retrieval_grid([(checkerboard, "")], [[]], tmp_path / "grid.png", "")
    picture = Image.open(tmp_path / "grid.png").convert("L")
    values = {picture.getpixel((x, y)) for x in range(GAP + FRAME, GAP + TILE - FRAME)
              for y in range(2 * GAP + LINE_HEIGHT + FRAME, 2 * GAP + LINE_HEIGHT + TILE - FRAME)}
    assert values == {0, 255}
