"""Pictures of the demo catalogue, drawn with Pillow: a logo (the service's initials on its colour) and phone-screen
mock-ups (a list, a chart, a calendar, an article or a form) that show what each fictional service does."""

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import dsfr
from PIL import Image, ImageDraw, ImageFont

SCREEN_WIDTH, SCREEN_HEIGHT = 450, 900
MARGIN = 24
BACKGROUND = (246, 246, 246)
CARD = (255, 255, 255)
TEXT = (30, 30, 30)
MUTED = (102, 102, 102)
LINE = (221, 221, 221)


def _font_paths(bold: bool) -> list[Path]:
    """Fonts with the French accents: the system's DejaVu Sans (Debian's fonts-dejavu-core), else the DSFR's Spectral
    (SIL Open Font License; Marianne is kept for the State's own pages)."""
    dsfr_fonts = Path(dsfr.__file__).resolve().parent / "static" / "dsfr" / "dist" / "fonts"
    if bold:
        return [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"), dsfr_fonts / "Spectral-ExtraBold.woff"]
    return [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), dsfr_fonts / "Spectral-Regular.woff"]


@lru_cache(maxsize=64)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _font_paths(bold):
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)  # Pillow's own font, without accents: the last resort


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _light(rgb: tuple[int, int, int], amount: float = 0.85) -> tuple[int, int, int]:
    return tuple(round(channel + (255 - channel) * amount) for channel in rgb)  # type: ignore[return-value]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def logo_png(initials: str, colour: str, size: int = 512) -> bytes:
    """A rounded square of the service's colour, a soft ring, and its initials in white."""
    rgb = _hex(colour)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=rgb)
    ring = size // 9
    draw.ellipse((ring, ring, size - ring, size - ring), outline=_light(rgb, 0.35), width=size // 40)
    font = _font(size // 3 if len(initials) > 1 else size // 2, bold=True)
    draw.text((size / 2, size / 2), initials, font=font, fill="white", anchor="mm")
    return _png(image)


@dataclass(frozen=True)
class Screen:
    """One screen of an app: its layout, the title of its header, and what it shows."""

    layout: str  # list, chart, calendar, article, form
    title: str
    alt: str
    items: list[str] = field(default_factory=list)
    value: str = ""
    values: list[float] = field(default_factory=list)
    button: str = ""


def _frame(colour: tuple[int, int, int], title: str) -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    image = Image.new("RGB", (SCREEN_WIDTH, SCREEN_HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, SCREEN_WIDTH, 150), fill=colour)
    small = _font(18)
    draw.text((MARGIN, 18), "9:41", font=small, fill="white")
    draw.rounded_rectangle((SCREEN_WIDTH - 62, 20, SCREEN_WIDTH - 26, 36), radius=4, outline="white", width=2)
    draw.rectangle((SCREEN_WIDTH - 58, 24, SCREEN_WIDTH - 38, 32), fill="white")
    heading = _font(28, bold=True)
    lines = _wrap(draw, title, heading, SCREEN_WIDTH - 2 * MARGIN)[:2]
    top = 150 - 24 - 38 * len(lines)
    for number, line in enumerate(lines):
        draw.text((MARGIN, top + 38 * number), line, font=heading, fill="white")
    # The tab bar at the bottom, as on most phone apps.
    draw.rectangle((0, SCREEN_HEIGHT - 80, SCREEN_WIDTH, SCREEN_HEIGHT), fill=CARD)
    draw.line((0, SCREEN_HEIGHT - 80, SCREEN_WIDTH, SCREEN_HEIGHT - 80), fill=LINE, width=2)
    for index in range(4):
        centre = SCREEN_WIDTH * (2 * index + 1) // 8
        fill = colour if index == 0 else LINE
        draw.ellipse((centre - 14, SCREEN_HEIGHT - 56, centre + 14, SCREEN_HEIGHT - 28), fill=fill)
    return image, draw, 150 + MARGIN


def _list(draw, colour, top: int, items: list[str]) -> None:
    label_font, sub_font = _font(20, bold=True), _font(16)
    for item in items[:6]:
        label, _sep, sub = item.partition("|")
        draw.rounded_rectangle((MARGIN, top, SCREEN_WIDTH - MARGIN, top + 96), radius=16, fill=CARD)
        draw.ellipse((MARGIN + 18, top + 24, MARGIN + 66, top + 72), fill=_light(colour, 0.6))
        draw.ellipse((MARGIN + 32, top + 38, MARGIN + 52, top + 58), fill=colour)
        text_left = MARGIN + 84
        width = SCREEN_WIDTH - MARGIN - 16 - text_left
        draw.text((text_left, top + 22), _wrap(draw, label, label_font, width)[0], font=label_font, fill=TEXT)
        if sub:
            draw.text((text_left, top + 56), _wrap(draw, sub, sub_font, width)[0], font=sub_font, fill=MUTED)
        top += 112


def _chart(draw, colour, top: int, screen: Screen) -> None:
    draw.rounded_rectangle((MARGIN, top, SCREEN_WIDTH - MARGIN, top + 420), radius=16, fill=CARD)
    draw.text((MARGIN + 20, top + 20), screen.value, font=_font(40, bold=True), fill=TEXT)
    if screen.items:
        draw.text((MARGIN + 20, top + 78), screen.items[0], font=_font(18), fill=MUTED)
    left, right, bottom, height = MARGIN + 30, SCREEN_WIDTH - MARGIN - 30, top + 380, 230
    for step in range(5):
        y = bottom - height * step / 4
        draw.line((left, y, right, y), fill=LINE, width=1)
    values = screen.values or [1, 2, 3]
    low, high = min(values), max(values)
    spread = (high - low) or 1
    points = [
        (left + (right - left) * index / max(len(values) - 1, 1), bottom - height * (value - low) / spread * 0.8 - 20)
        for index, value in enumerate(values)
    ]
    draw.line(points, fill=colour, width=5, joint="curve")
    for x, y in points:
        draw.ellipse((x - 7, y - 7, x + 7, y + 7), fill=CARD, outline=colour, width=4)
    _list(draw, colour, top + 440, screen.items[1:3])


def _calendar(draw, colour, top: int, screen: Screen) -> None:
    draw.rounded_rectangle((MARGIN, top, SCREEN_WIDTH - MARGIN, top + 330), radius=16, fill=CARD)
    draw.text((MARGIN + 20, top + 16), screen.value or "Mars", font=_font(24), fill=TEXT)
    cell = (SCREEN_WIDTH - 2 * MARGIN - 40) / 7
    day_font = _font(18)
    for index, name in enumerate("LMMJVSD"):
        draw.text((MARGIN + 20 + cell * index + cell / 2, top + 66), name, font=day_font, fill=MUTED, anchor="mm")
    highlighted = {4, 11, 19, 26}
    for day in range(1, 32):
        row, column = divmod(day + 1, 7)
        x = MARGIN + 20 + cell * column + cell / 2
        y = top + 106 + row * 44
        if day in highlighted:
            draw.ellipse((x - 18, y - 18, x + 18, y + 18), fill=colour)
            draw.text((x, y), str(day), font=day_font, fill="white", anchor="mm")
        else:
            draw.text((x, y), str(day), font=day_font, fill=TEXT, anchor="mm")
    _list(draw, colour, top + 350, screen.items)


def _article(draw, colour, top: int, screen: Screen) -> None:
    draw.rounded_rectangle((MARGIN, top, SCREEN_WIDTH - MARGIN, top + 200), radius=16, fill=_light(colour, 0.75))
    headline = _font(24, bold=True)
    for number, line in enumerate(_wrap(draw, screen.value, headline, SCREEN_WIDTH - 2 * MARGIN - 40)[:4]):
        draw.text((MARGIN + 20, top + 24 + 36 * number), line, font=headline, fill=TEXT)
    y = top + 230
    body = _font(18)
    for paragraph in screen.items[:3]:
        for line in _wrap(draw, paragraph, body, SCREEN_WIDTH - 2 * MARGIN)[:4]:
            draw.text((MARGIN, y), line, font=body, fill=TEXT)
            y += 28
        y += 18
    if screen.button:
        _button(draw, colour, SCREEN_HEIGHT - 170, screen.button)


def _form(draw, colour, top: int, screen: Screen) -> None:
    label_font = _font(18)
    y = top
    for item in screen.items[:5]:
        label, _sep, value = item.partition("|")
        draw.text((MARGIN, y), label, font=label_font, fill=TEXT)
        draw.rounded_rectangle((MARGIN, y + 30, SCREEN_WIDTH - MARGIN, y + 84), radius=10, fill=CARD, outline=LINE,
                               width=2)  # fmt: skip
        if value:
            draw.text((MARGIN + 16, y + 45), value, font=label_font, fill=MUTED)
        y += 110
    if screen.button:
        _button(draw, colour, SCREEN_HEIGHT - 170, screen.button)


def _button(draw, colour, top: int, label: str) -> None:
    draw.rounded_rectangle((MARGIN, top, SCREEN_WIDTH - MARGIN, top + 64), radius=32, fill=colour)
    draw.text((SCREEN_WIDTH / 2, top + 32), label, font=_font(20, bold=True), fill="white", anchor="mm")


def screen_png(screen: Screen, colour: str) -> bytes:
    rgb = _hex(colour)
    image, draw, top = _frame(rgb, screen.title)
    if screen.layout == "chart":
        _chart(draw, rgb, top, screen)
    elif screen.layout == "calendar":
        _calendar(draw, rgb, top, screen)
    elif screen.layout == "article":
        _article(draw, rgb, top, screen)
    elif screen.layout == "form":
        _form(draw, rgb, top, screen)
    else:
        _list(draw, rgb, top, screen.items)
    return _png(image)
