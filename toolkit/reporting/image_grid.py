"""The retrieval grid: each query image beside its nearest neighbours, drawn with Pillow.

Pillow already reads the images; drawing the grid with matplotlib would add half a second to ``toolkit search``.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.runfolder.rundir import write_atomic

TILE = 112            # side of the square each image is fitted into, in pixels
GAP = 10              # between tiles and around the grid
CAPTION_LINES = 2
LINE_HEIGHT = 15
FRAME = 3             # width of a query's blue or a wrong neighbour's red frame
QUERY_COLOUR = (31, 119, 180)
WRONG_COLOUR = (214, 39, 40)
TEXT_COLOUR = (0, 0, 0)


def retrieval_grid(queries: list[tuple[object, str]], neighbours: list[list[tuple[object, str, float, bool | None]]],
                   path: Path, title: str) -> None:
    """One row per query: the query image, then its neighbours with their label and distance.

    ``queries`` holds ``(image, caption)``; ``neighbours[i]`` holds ``(image, label, distance, correct)``,
    with ``correct`` None where the query's own class is unknown. A wrong neighbour gets a red frame and caption.
    Images are ``(C, H, W)`` tensors, uint8 or floats in [0, 1].
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=12)
    columns = 1 + max((len(found) for found in neighbours), default=0)
    row_height = TILE + CAPTION_LINES * LINE_HEIGHT + GAP
    title_height = 2 * GAP + LINE_HEIGHT
    canvas = Image.new("RGB", (GAP + columns * (TILE + GAP), title_height + len(queries) * row_height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((canvas.width // 2, GAP), _fit(draw, font, title, canvas.width - 2 * GAP), fill=TEXT_COLOUR, font=font,
              anchor="ma")
    for row, ((image, caption), found) in enumerate(zip(queries, neighbours)):
        top = title_height + row * row_height
        _tile(canvas, draw, font, image, (GAP, top), caption, QUERY_COLOUR)
        for column, (image, label, distance, correct) in enumerate(found, start=1):
            wrong = correct is False
            _tile(canvas, draw, font, image, (GAP + column * (TILE + GAP), top), f"{label}\nd={distance:.3g}",
                  WRONG_COLOUR if wrong else None, WRONG_COLOUR if wrong else TEXT_COLOUR)
    write_atomic(path, lambda tmp: canvas.save(tmp, format="PNG"))


def _tile(canvas, draw, font, image, corner: tuple[int, int], caption: str, frame: tuple[int, int, int] | None,
          text_colour: tuple[int, int, int] = TEXT_COLOUR) -> None:
    """One image fitted into its square (small images enlarged without blurring), framed, captioned below."""
    from PIL import Image

    picture = as_pil_image(image)
    scale = TILE / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    resample = Image.Resampling.NEAREST if scale >= 2 else Image.Resampling.BILINEAR
    left, top = corner
    offset = (left + (TILE - size[0]) // 2, top + (TILE - size[1]) // 2)
    canvas.paste(picture.resize(size, resample).convert("RGB"), offset)
    if frame is not None:
        draw.rectangle((left, top, left + TILE - 1, top + TILE - 1), outline=frame, width=FRAME)
    for line_number, line in enumerate(caption.split("\n")[:CAPTION_LINES]):
        draw.text((left + TILE // 2, top + TILE + 2 + line_number * LINE_HEIGHT), _fit(draw, font, line, TILE),
                  fill=text_colour, font=font, anchor="ma")


def _fit(draw, font, text: str, width: int) -> str:
    """``text``, cut short with an ellipsis where it is wider than ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def as_pil_image(image):
    """A ``(C, H, W)`` tensor (uint8, or floats in [0, 1]) as a grey or RGB PIL image."""
    from PIL import Image

    array = image.detach().cpu().float().numpy()
    if image.dtype.is_floating_point:
        array = array * 255.0
    array = array.clip(0, 255).round().astype("uint8")
    if array.shape[0] == 1:
        return Image.fromarray(array[0])
    return Image.fromarray(array[:3].transpose(1, 2, 0).copy())
