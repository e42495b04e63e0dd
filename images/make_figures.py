#!/usr/bin/env python
"""Regenerate the conceptual diagrams used in this chapter's notebooks/README.

Run from anywhere:

    python images/make_figures.py [OUTPUT_FOLDER]

All PNGs are written next to this script (or into OUTPUT_FOLDER).  Only matplotlib and numpy are
used; the drawings are deterministic (no randomness), so re-running the
script reproduces the same files.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT_DIR = Path(__file__).resolve().parent

# --------------------------------------------------------------------------
# Shared style: one palette, one font scheme
# --------------------------------------------------------------------------
PALETTE = {
    # kind: (edge colour, fill colour)
    "input": ("#2F6DB5", "#DCE8F7"),      # blue
    "hidden": ("#D9731C", "#FCE5CF"),     # orange
    "output": ("#2E8B57", "#D8F0E1"),     # green
    "attention": ("#7A4FC2", "#EBE2F8"),  # purple
    "neutral": ("#5F6670", "#F3F4F6"),    # grey
    "plain": ("#5F6670", "#FFFFFF"),      # grey outline, white fill
}
INK = "#1F2328"    # main text colour
GREY = "#5F6670"   # arrows and secondary text
LIGHT = "#B7BCC4"  # dashed guides, frames

FS_LABEL = 11   # labels inside boxes / on arrows
FS_SMALL = 10   # secondary annotations
FS_TITLE = 13   # figure / panel titles
DPI = 150

plt.rcParams.update({
    "font.family": "DejaVu Sans",
    "font.size": FS_LABEL,
    "mathtext.fontset": "dejavusans",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
})


# --------------------------------------------------------------------------
# Shared drawing helpers
# --------------------------------------------------------------------------
class Shape:
    """Axis-aligned box (or circle) with helpers for its anchor points."""

    def __init__(self, cx, cy, hw, hh, round_=False):
        self.cx, self.cy, self.hw, self.hh, self.round = cx, cy, hw, hh, round_

    @property
    def c(self):
        return (self.cx, self.cy)

    def top(self, dx=0.0):
        return (self.cx + dx, self.cy + self.hh)

    def bottom(self, dx=0.0):
        return (self.cx + dx, self.cy - self.hh)

    def left(self, dy=0.0):
        return (self.cx - self.hw, self.cy + dy)

    def right(self, dy=0.0):
        return (self.cx + self.hw, self.cy + dy)

    def toward(self, p):
        """Point on the outline on the straight line from the centre to p."""
        dx, dy = p[0] - self.cx, p[1] - self.cy
        if self.round:
            d = np.hypot(dx, dy)
            return (self.cx + dx * self.hw / d, self.cy + dy * self.hw / d)
        tx = self.hw / abs(dx) if dx else np.inf
        ty = self.hh / abs(dy) if dy else np.inf
        t = min(tx, ty)
        return (self.cx + t * dx, self.cy + t * dy)


def canvas(xlim, ylim, scale):
    """Figure whose single axes fills it; `scale` = inches per data unit."""
    w = (xlim[1] - xlim[0]) * scale
    h = (ylim[1] - ylim[0]) * scale
    fig = plt.figure(figsize=(w, h))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def text(ax, x, y, s, size=FS_LABEL, color=INK, ha="center", va="center",
         **kw):
    return ax.text(x, y, s, fontsize=size, color=color, ha=ha, va=va,
                   zorder=kw.pop("zorder", 6), **kw)


def title(ax, x, y, s, size=FS_TITLE, **kw):
    return text(ax, x, y, s, size=size, weight="bold", **kw)


def box(ax, cx, cy, w, h, label="", kind="neutral", size=FS_LABEL, lw=1.6,
        rounding=0.12, ls="-", zorder=3, label_color=INK, fill=None,
        edge=None):
    """Rounded box centred at (cx, cy); returns its Shape."""
    ec, fc = PALETTE[kind]
    ax.add_patch(FancyBboxPatch(
        (cx - w / 2, cy - h / 2), w, h,
        boxstyle=f"round,pad=0,rounding_size={rounding}",
        fc=fill or fc, ec=edge or ec, lw=lw, ls=ls, zorder=zorder))
    if label:
        text(ax, cx, cy, label, size=size, color=label_color,
             zorder=zorder + 1, linespacing=1.35)
    return Shape(cx, cy, w / 2, h / 2)


def node(ax, cx, cy, r, label="", kind="plain", size=FS_LABEL + 2, lw=1.6,
         zorder=4):
    """Circle (e.g. element-wise operation) centred at (cx, cy)."""
    ec, fc = PALETTE[kind]
    ax.add_patch(Circle((cx, cy), r, fc=fc, ec=ec, lw=lw, zorder=zorder))
    if label:
        text(ax, cx, cy, label, size=size, zorder=zorder + 1)
    return Shape(cx, cy, r, r, round_=True)


def dot(ax, x, y, color=GREY, r=0.07):
    ax.add_patch(Circle((x, y), r, fc=color, ec=color, zorder=5))


def arrow(ax, p0, p1, color=GREY, lw=1.5, ls="-", head=True, style=None,
          connection="arc3", label=None, label_pos=0.5, label_offset=(0, 0),
          label_size=FS_LABEL, label_color=INK, label_ha="center",
          label_bg=False, zorder=2, mutation=13):
    """Straight (or curved via `connection`) arrow from p0 to p1."""
    arrowstyle = style or ("-|>" if head else "-")
    ax.add_patch(FancyArrowPatch(
        p0, p1, arrowstyle=arrowstyle, mutation_scale=mutation,
        connectionstyle=connection, color=color, lw=lw, ls=ls,
        shrinkA=0, shrinkB=0, zorder=zorder, joinstyle="miter",
        capstyle="butt"))
    if label:
        lx = p0[0] + (p1[0] - p0[0]) * label_pos + label_offset[0]
        ly = p0[1] + (p1[1] - p0[1]) * label_pos + label_offset[1]
        bbox = (dict(boxstyle="round,pad=0.15", fc="white", ec="none")
                if label_bg else None)
        text(ax, lx, ly, label, size=label_size, color=label_color,
             ha=label_ha, bbox=bbox)


def path_arrow(ax, pts, color=GREY, lw=1.5, ls="-", head=True, zorder=2):
    """Polyline through `pts`; arrow head on the last segment."""
    xs, ys = zip(*pts[:-1])
    ax.plot(xs, ys, color=color, lw=lw, ls=ls, zorder=zorder,
            solid_capstyle="butt", solid_joinstyle="miter")
    arrow(ax, pts[-2], pts[-1], color=color, lw=lw, ls=ls, head=head,
          zorder=zorder)


def connect(ax, a, b, **kw):
    """Arrow between the outlines of two Shapes along the centre line."""
    arrow(ax, a.toward(b.c), b.toward(a.c), **kw)


def frame(ax, x0, y0, x1, y1, color=LIGHT, fill="none", ls="--", lw=1.3,
          rounding=0.25, zorder=0):
    ax.add_patch(FancyBboxPatch(
        (x0, y0), x1 - x0, y1 - y0,
        boxstyle=f"round,pad=0,rounding_size={rounding}",
        fc=fill, ec=color, lw=lw, ls=ls, zorder=zorder))


def bracket(ax, x0, x1, y, depth, label, color=GREY, size=FS_SMALL):
    """Square bracket spanning x0..x1; opens toward +depth (sign = side)."""
    ax.plot([x0, x0, x1, x1], [y + depth, y, y, y + depth], color=color,
            lw=1.3, zorder=2)
    xm = (x0 + x1) / 2
    ax.plot([xm, xm], [y, y - 0.6 * depth], color=color, lw=1.3, zorder=2)
    text(ax, xm, y - 1.3 * depth, label, size=size, color=color,
         va="top" if depth > 0 else "bottom")


def save(fig, name):
    fig.savefig(OUT_DIR / name, dpi=DPI, bbox_inches="tight", pad_inches=0.15,
                metadata={"Software": None})
    plt.close(fig)
    print("wrote", name)


def vec(sym, sup):
    """Bold vector with a time-step superscript, e.g. x^(t-1)."""
    return rf"$\mathbf{{{sym}}}^{{({sup})}}$"


# --------------------------------------------------------------------------
# 1. Independent samples vs. sequence
# --------------------------------------------------------------------------
def fig_sequential_vs_iid():
    fig, ax = canvas((0, 19.6), (0, 7.6), 0.49)

    # left: unordered bag of samples
    title(ax, 4.3, 7.1, "Independent (i.i.d.) samples")
    frame(ax, 0.6, 1.3, 8.0, 6.2, fill=PALETTE["neutral"][1])
    for cx, cy, i in [(1.8, 5.1, 3), (4.2, 5.3, 1), (6.7, 4.9, 5),
                      (2.7, 3.3, 4), (5.4, 3.5, 2), (3.8, 1.95, 6),
                      (6.6, 2.2, 7)]:
        box(ax, cx, cy, 1.4, 0.85, rf"$\mathbf{{x}}^{{[{i}]}}$", "input")
    text(ax, 4.3, 0.65, "order does not matter: shuffling changes nothing",
         style="italic", color=GREY)

    ax.plot([9.4, 9.4], [0.4, 7.3], color=LIGHT, lw=1.2, ls="--")

    # right: ordered sequence along a time axis
    title(ax, 14.6, 7.1, "Sequential data")
    xs = [11.0, 13.0, 15.0, 18.0]
    labels = [vec("x", 1), vec("x", 2), vec("x", 3), vec("x", "T")]
    shapes = [box(ax, x, 4.2, 1.4, 0.85, s, "input")
              for x, s in zip(xs, labels)]
    for a, b in zip(shapes[:2], shapes[1:3]):
        connect(ax, a, b)
    arrow(ax, shapes[2].right(), (16.1, 4.2))
    text(ax, 16.5, 4.2, r"$\cdots$", size=FS_TITLE)
    arrow(ax, (16.9, 4.2), shapes[3].left())

    # time axis
    arrow(ax, (10.0, 2.5), (19.3, 2.5), color=GREY, lw=1.3)
    for x, s in zip(xs, ["1", "2", "3", "T"]):
        ax.plot([x, x], [2.35, 2.65], color=GREY, lw=1.3)
        text(ax, x, 1.95, rf"$t={s}$", size=FS_SMALL, color=GREY)
    text(ax, 19.3, 2.95, "time", size=FS_SMALL, color=GREY, ha="right")
    text(ax, 14.6, 0.65, "order matters: each element depends on "
         "the ones before it", style="italic", color=GREY)
    save(fig, "sequential_vs_iid.png")


# --------------------------------------------------------------------------
# 2. Sequence modelling categories
# --------------------------------------------------------------------------
def seq_panel(ax, ox, oy, name, example, n, inputs, outputs, pw=7.6):
    """One panel: n time steps; `inputs`/`outputs` = steps with x / y."""
    frame(ax, ox, oy, ox + pw, oy + 5.7, color=LIGHT, ls="-")
    title(ax, ox + pw / 2, oy + 5.25, name, size=12)
    pitch, bw, bh = 1.25, 0.75, 0.6
    x0 = ox + pw / 2 - pitch * (n - 1) / 2
    y_in, y_h, y_out = oy + 1.75, oy + 2.95, oy + 4.15
    hidden = []
    for k in range(n):
        x = x0 + k * pitch
        h = box(ax, x, y_h, bw, bh, r"$\mathbf{h}$", "hidden", size=FS_SMALL)
        hidden.append(h)
        if k in inputs:
            xb = box(ax, x, y_in, bw, bh, r"$\mathbf{x}$", "input",
                     size=FS_SMALL)
            arrow(ax, xb.top(), h.bottom(), mutation=10)
        if k in outputs:
            yb = box(ax, x, y_out, bw, bh, r"$\mathbf{y}$", "output",
                     size=FS_SMALL)
            arrow(ax, h.top(), yb.bottom(), mutation=10)
    for a, b in zip(hidden, hidden[1:]):
        arrow(ax, a.right(), b.left(), mutation=10)
    text(ax, ox + pw / 2, oy + 0.75, example, size=FS_SMALL, color=GREY,
         linespacing=1.3)


def fig_sequence_categories():
    fig, ax = canvas((0, 16.2), (0, 12.2), 0.6)
    seq_panel(ax, 0.2, 6.3, "Many-to-one", "e.g. sentiment of a review:\n"
              "read all words, output one label", 4, range(4), [3])
    seq_panel(ax, 8.4, 6.3, "One-to-many", "e.g. image captioning:\n"
              "one image in, a sequence of words out", 4, [0], range(4))
    seq_panel(ax, 0.2, 0.2, "Many-to-many (synchronised)",
              "e.g. video frame labelling,\npart-of-speech tagging",
              4, range(4), range(4))
    seq_panel(ax, 8.4, 0.2, "Many-to-many (delayed)",
              "e.g. machine translation: read the\nwhole sentence, then "
              "emit the translation", 6, range(3), range(3, 6))
    save(fig, "sequence_categories.png")


# --------------------------------------------------------------------------
# 3. Compact vs. unfolded RNN
# --------------------------------------------------------------------------
def fig_rnn_unfolded():
    fig, ax = canvas((0, 17.4), (0, 8.6), 0.55)
    bw, bh = 1.5, 0.9
    y_x, y_h, y_o = 1.3, 4.0, 6.7

    # compact
    title(ax, 2.2, 8.1, "Compact")
    xb = box(ax, 2.0, y_x, bw, bh, r"$\mathbf{x}$", "input")
    hb = box(ax, 2.0, y_h, bw, bh, r"$\mathbf{h}$", "hidden")
    ob = box(ax, 2.0, y_o, bw, bh, r"$\mathbf{o}$", "output")
    arrow(ax, xb.top(), hb.bottom(), label=r"$\mathbf{W}_{xh}$",
          label_offset=(-0.2, 0), label_ha="right")
    arrow(ax, hb.top(), ob.bottom(), label=r"$\mathbf{W}_{ho}$",
          label_offset=(-0.2, 0), label_ha="right")
    arrow(ax, hb.right(-0.3), hb.right(0.3), connection="arc3,rad=3.2",
          color=PALETTE["hidden"][0], lw=1.8)
    text(ax, 3.85, 4.0, r"$\mathbf{W}_{hh}$", ha="left")

    # unfold arrow
    arrow(ax, (5.0, y_h), (6.7, y_h), lw=2.5, mutation=20)
    text(ax, 5.85, y_h + 0.5, "unfold", size=FS_SMALL, color=GREY)

    # unfolded
    title(ax, 11.9, 8.1, "Unfolded through time")
    cols = [(8.9, "t-1"), (11.9, "t"), (14.9, "t+1")]
    hs = []
    for x, t in cols:
        xb = box(ax, x, y_x, bw, bh, vec("x", t), "input")
        hb = box(ax, x, y_h, bw, bh, vec("h", t), "hidden")
        ob = box(ax, x, y_o, bw, bh, vec("o", t), "output")
        arrow(ax, xb.top(), hb.bottom(), label=r"$\mathbf{W}_{xh}$",
              label_offset=(-0.15, 0), label_ha="right", label_size=FS_SMALL)
        arrow(ax, hb.top(), ob.bottom(), label=r"$\mathbf{W}_{ho}$",
              label_offset=(-0.15, 0), label_ha="right", label_size=FS_SMALL)
        hs.append(hb)
    hcol = PALETTE["hidden"][0]
    arrow(ax, (7.2, y_h), hs[0].left(), ls="--", color=hcol)
    for a, b in zip(hs, hs[1:]):
        arrow(ax, a.right(), b.left(), color=hcol, label=r"$\mathbf{W}_{hh}$",
              label_offset=(0, 0.33), label_size=FS_SMALL)
    arrow(ax, hs[-1].right(), (16.9, y_h), ls="--", color=hcol)
    text(ax, 7.1, y_h + 0.33, r"$\cdots$", color=GREY)
    text(ax, 16.8, y_h + 0.33, r"$\cdots$", color=GREY)
    save(fig, "rnn_unfolded.png")


# --------------------------------------------------------------------------
# 4. Hidden-to-hidden vs. output-to-hidden recurrence
# --------------------------------------------------------------------------
def recurrence_panel(ax, ox, mode):
    bw, bh = 1.45, 0.9
    y_x, y_h, y_o = 1.3, 3.9, 6.5
    xs = [ox + 2.0, ox + 4.7, ox + 7.4]
    ts = ["t-1", "t", "t+1"]
    hs, os_ = [], []
    for x, t in zip(xs, ts):
        xb = box(ax, x, y_x, bw, bh, vec("x", t), "input")
        hb = box(ax, x, y_h, bw, bh, vec("h", t), "hidden")
        ob = box(ax, x, y_o, bw, bh, vec("o", t), "output")
        arrow(ax, xb.top(), hb.bottom(), label=r"$\mathbf{W}_{xh}$",
              label_offset=(-0.12, 0), label_ha="right", label_size=FS_SMALL)
        arrow(ax, hb.top(), ob.bottom(), label=r"$\mathbf{W}_{ho}$",
              label_offset=(-0.12, 0), label_ha="right", label_size=FS_SMALL)
        hs.append(hb)
        os_.append(ob)
    if mode == "hidden":
        col = PALETTE["hidden"][0]
        title(ax, ox + 4.7, 8.0, "Hidden-to-hidden recurrence")
        arrow(ax, (ox + 0.3, y_h), hs[0].left(), ls="--", color=col)
        for a, b in zip(hs, hs[1:]):
            arrow(ax, a.right(), b.left(), color=col, lw=2,
                  label=r"$\mathbf{W}_{hh}$", label_offset=(0, 0.33))
        arrow(ax, hs[-1].right(), (ox + 9.1, y_h), ls="--", color=col)
    else:
        col = PALETTE["output"][0]
        title(ax, ox + 4.7, 8.0, "Output-to-hidden recurrence")
        arrow(ax, (ox + 0.3, y_o - 0.6), hs[0].left(0.25), ls="--",
              color=col)
        for a, b in zip(os_, hs[1:]):
            arrow(ax, a.right(-0.25), b.left(0.25), color=col, lw=2,
                  label=r"$\mathbf{W}_{oh}$", label_pos=0.5,
                  label_offset=(-0.45, -0.3))
        arrow(ax, os_[-1].right(-0.25), (ox + 9.1, y_h + 0.6), ls="--",
              color=col)


def fig_hidden_vs_output_recurrence():
    fig, ax = canvas((0, 19.2), (0.4, 8.5), 0.5)
    recurrence_panel(ax, 0.0, "hidden")
    ax.plot([9.6, 9.6], [0.6, 8.3], color=LIGHT, lw=1.2, ls="--")
    recurrence_panel(ax, 9.9, "output")
    save(fig, "hidden_vs_output_recurrence.png")


# --------------------------------------------------------------------------
# 5. LSTM cell
# --------------------------------------------------------------------------
def fig_lstm_cell():
    fig, ax = canvas((-2.2, 19.4), (-2.7, 7.6), 0.45)
    y_c, y_bus, y_g, y_op = 6.3, 1.2, 3.1, 4.9
    gw, gh, r = 2.2, 1.15, 0.32
    cell_col = INK
    out_col = PALETTE["output"][0]
    in_col = PALETTE["input"][0]

    frame(ax, 0.8, 0.45, 15.8, 7.05, color=GREY, ls="-",
          fill=PALETTE["neutral"][1], lw=1.5)
    text(ax, 15.6, 0.75, "LSTM cell", size=FS_SMALL, color=GREY, ha="right")

    # gate layers
    gx = {"f": 3.3, "i": 5.8, "c": 8.3, "o": 10.9}
    gates = {
        "f": box(ax, gx["f"], y_g, gw, gh, "forget gate\n" + r"$\sigma$",
                 "hidden"),
        "i": box(ax, gx["i"], y_g, gw, gh, "input gate\n" + r"$\sigma$",
                 "hidden"),
        "c": box(ax, gx["c"], y_g, gw, gh, "candidate\ntanh", "hidden"),
        "o": box(ax, gx["o"], y_g, gw, gh, "output gate\n" + r"$\sigma$",
                 "hidden"),
    }

    # inputs: h(t-1) from the left, x(t) from below, concatenated on a bus
    text(ax, -0.15, y_bus, vec("h", "t-1"), ha="right", color=in_col,
         size=12)
    ax.plot([0.0, gx["o"]], [y_bus, y_bus], color=GREY, lw=1.6, zorder=2)
    arrow(ax, (1.8, -0.75), (1.8, y_bus), lw=1.6)
    dot(ax, 1.8, y_bus)
    text(ax, 1.8, -1.1, vec("x", "t"), color=in_col, size=12)
    for k in "fico":
        dot(ax, gx[k], y_bus)
        arrow(ax, (gx[k], y_bus), gates[k].bottom(), lw=1.6)

    # cell state line across the top
    text(ax, -0.15, y_c, vec("C", "t-1"), ha="right", color=in_col,
         size=12)
    mul_f = node(ax, gx["f"], y_c, r, r"$\times$")
    add_c = node(ax, 7.05, y_c, r, r"$+$")
    arrow(ax, (0.0, y_c), mul_f.left(), color=cell_col, lw=2.4)
    arrow(ax, mul_f.right(), add_c.left(), color=cell_col, lw=2.4)
    arrow(ax, add_c.right(), (17.4, y_c), color=cell_col, lw=2.4)
    text(ax, 17.55, y_c, vec("C", "t"), ha="left", color=out_col, size=12)
    text(ax, 10.0, y_c + 0.35, "cell state", size=FS_SMALL, color=GREY)

    # forget gate -> multiply on the cell state
    arrow(ax, gates["f"].top(), mul_f.bottom(), lw=1.6,
          label=r"$\mathbf{f}_t$", label_offset=(0.15, 0), label_ha="left")

    # input gate x candidate -> add to the cell state
    mul_i = node(ax, 7.05, y_op, r, r"$\times$")
    path_arrow(ax, [gates["i"].top(), (gx["i"], y_op), mul_i.left()], lw=1.6)
    path_arrow(ax, [gates["c"].top(), (gx["c"], y_op), mul_i.right()],
               lw=1.6)
    text(ax, gx["i"] - 0.15, 4.3, r"$\mathbf{i}_t$", ha="right")
    text(ax, gx["c"] + 0.15, 4.3, r"$\tilde{\mathbf{C}}_t$", ha="left")
    arrow(ax, mul_i.top(), add_c.bottom(), lw=1.6)

    # output: tanh(C(t)) x o_t -> h(t)
    xo = 13.5
    dot(ax, xo, y_c)
    th = box(ax, xo, y_op, 1.15, 0.62, "tanh", "plain", size=FS_LABEL)
    arrow(ax, (xo, y_c), th.top(), lw=1.6)
    mul_o = node(ax, xo, y_g, r, r"$\times$")
    arrow(ax, th.bottom(), mul_o.top(), lw=1.6)
    arrow(ax, gates["o"].right(), mul_o.left(), lw=1.6,
          label=r"$\mathbf{o}_t$", label_offset=(0, 0.3))
    arrow(ax, mul_o.right(), (17.4, y_g), color=out_col, lw=2.0)
    text(ax, 17.55, y_g, vec("h", "t"), ha="left", color=out_col, size=12)

    # legend
    ly = -1.95
    node(ax, -1.3, ly, 0.28, r"$\times$", size=FS_LABEL + 1)
    text(ax, -0.85, ly, r"element-wise product $\odot$", ha="left",
         size=FS_SMALL)
    node(ax, 4.3, ly, 0.28, r"$+$", size=FS_LABEL + 1)
    text(ax, 4.75, ly, "element-wise sum", ha="left", size=FS_SMALL)
    box(ax, 9.0, ly, 1.3, 0.55, "layer", "hidden", size=FS_SMALL)
    text(ax, 9.85, ly, r"dense layer, e.g. $\mathbf{f}_t=\sigma(\mathbf{x}^{(t)}\,"
         r"\mathbf{W}_{xf}+\mathbf{h}^{(t-1)}\,\mathbf{W}_{hf}+\mathbf{b}_f)$",
         ha="left", size=FS_SMALL)
    save(fig, "lstm_cell.png")


# --------------------------------------------------------------------------
# 6. Character-level data pipeline
# --------------------------------------------------------------------------
TEXT = "The island was surrounded by the calm blue sea and the sky"
SEQ_LENGTH = 40
CHUNK = TEXT[:SEQ_LENGTH + 1]


def show_char(ch):
    return "\u2423" if ch == " " else ch


def fig_char_data_flow():
    assert len(CHUNK) == SEQ_LENGTH + 1
    fig, ax = canvas((-0.6, 20.4), (0.0, 15.6), 0.46)
    vocab = sorted(set(TEXT))
    char2int = {c: i for i, c in enumerate(vocab)}
    in_col, out_col = PALETTE["input"][0], PALETTE["output"][0]

    # A. raw text
    title(ax, 10.0, 15.1, "Character-level model: from raw text to "
          "(input, target) pairs")
    raw = box(ax, 10.0, 13.8, 17.0, 0.9,
              f"\u201c{TEXT} \u2026\u201d", "neutral", size=12)
    text(ax, 1.4, 13.8, "raw text", size=FS_SMALL, color=GREY, ha="right")

    # B. characters -> integer ids
    n_show = 15
    y_ch, y_id = 11.4, 10.55
    x0 = 2.4
    arrow(ax, raw.bottom(-5.0), (raw.cx - 5.0, y_ch + 0.45))
    text(ax, raw.cx - 4.6, 12.7, "map every character to an integer id "
         "(char2int; ids shown are illustrative)", size=FS_SMALL, color=GREY,
         ha="left")
    text(ax, 1.4, y_ch, "chars", size=FS_SMALL, color=GREY, ha="right")
    text(ax, 1.4, y_id, "ids", size=FS_SMALL, color=GREY, ha="right")
    for k, ch in enumerate(TEXT[:n_show]):
        x = x0 + k * 1.0
        box(ax, x, y_ch, 0.9, 0.75, show_char(ch), "plain", size=12,
            rounding=0.08)
        box(ax, x, y_id, 0.9, 0.75, str(char2int[ch]), "input", size=FS_SMALL,
            rounding=0.08)
    text(ax, x0 + n_show * 1.0, (y_ch + y_id) / 2, r"$\cdots$", size=FS_TITLE)

    # C. id sequence cut into chunks of 41
    y_chunks = 8.2
    arrow(ax, (raw.cx - 5.0, y_id - 0.45), (raw.cx - 5.0, y_chunks + 0.45))
    text(ax, raw.cx - 4.6, 9.4, f"cut the id sequence into chunks of "
         f"{SEQ_LENGTH + 1} = seq_length + 1", size=FS_SMALL, color=GREY,
         ha="left")
    cw = 4.2
    chunks = []
    for k in range(3):
        cx = x0 - 0.45 + cw / 2 + k * (cw + 0.15)
        chunks.append(box(ax, cx, y_chunks, cw, 0.8,
                          f"chunk {k + 1}: {SEQ_LENGTH + 1} ids", "input",
                          size=FS_SMALL, rounding=0.08))
    text(ax, chunks[-1].right()[0] + 0.6, y_chunks, r"$\cdots$",
         size=FS_TITLE)

    # D. one chunk in detail: positions 0..6, ..., 39, 40
    pitch, cwid = 1.35, 1.15
    cols = list(range(7)) + [None, 39, 40]
    xc0 = 3.2
    col_x = [xc0 + d * pitch for d in range(len(cols))]
    y_chunk, y_in, y_tg = 5.4, 2.9, 1.1
    arrow(ax, (col_x[0], y_chunks - 0.4), (col_x[0], y_chunk + 1.0),
          lw=1.2, mutation=10)
    text(ax, col_x[0] - 0.25, (y_chunks + y_chunk) / 2 + 0.5,
         "chunk 1\nin detail", size=FS_SMALL, color=GREY, ha="right")

    def cell_row(y, positions, kind, show_index=False):
        for x, p in zip(col_x, positions):
            if p is None:
                text(ax, x, y, r"$\cdots$", size=FS_TITLE)
                continue
            box(ax, x, y, cwid, 0.8, show_char(CHUNK[p]), kind, size=12,
                rounding=0.08)
            if show_index:
                text(ax, x, y + 0.62, str(p), size=9, color=GREY)

    cell_row(y_chunk, cols, "plain", show_index=True)
    text(ax, xc0 - 0.9, y_chunk, "chunk\n(41 chars)", size=FS_SMALL,
         color=GREY, ha="right")
    text(ax, col_x[-1] + 0.9, y_chunk + 0.62, "position", size=9,
         color=GREY, ha="left")

    # brackets: first 40 -> input, last 40 -> target
    bracket(ax, col_x[0] - cwid / 2, col_x[8] + cwid / 2, y_chunk - 0.62,
            0.22, "")
    text(ax, col_x[4] + 0.25, y_chunk - 1.05, "first 40 = input",
         size=FS_SMALL, color=in_col, ha="left")
    bracket(ax, col_x[1] - cwid / 2, col_x[9] + cwid / 2, y_chunk + 1.05,
            -0.22, "last 40 = target", color=out_col)

    in_pos = list(range(7)) + [None, 39]
    tg_pos = list(range(1, 8)) + [None, 40]
    cell_row(y_in, in_pos, "input")
    cell_row(y_tg, tg_pos, "output")
    text(ax, xc0 - 0.9, y_in, "input x\nchunk[:40]", size=FS_SMALL,
         color=in_col, ha="right")
    text(ax, xc0 - 0.9, y_tg, "target y\nchunk[1:]", size=FS_SMALL,
         color=out_col, ha="right")
    for x, p in zip(col_x, in_pos):
        if p is not None:
            arrow(ax, (x, y_in - 0.4), (x, y_tg + 0.4), mutation=10, lw=1.2)
    for d, x in enumerate(col_x[:9]):
        lab = "\u2026" if cols[d] is None else str(in_pos[d])
        text(ax, x, y_tg - 0.7, lab, size=9, color=GREY)
    text(ax, xc0 - 0.9, y_tg - 0.7, "time step t", size=9, color=GREY,
         ha="right")
    text(ax, col_x[9] + 0.2, (y_in + y_tg) / 2,
         "at each step t the\ntarget is the next\ncharacter: the target\n"
         "is the input shifted\none position left", size=FS_SMALL,
         color=GREY, ha="left")
    save(fig, "char_data_flow.png")


# --------------------------------------------------------------------------
# 7. Basic (parameter-free) self-attention for one query position
# --------------------------------------------------------------------------
def fig_self_attention():
    X = 2.0 * np.array([[0.2, 0.9, -0.3],
                        [0.8, 0.1, 0.5],
                        [0.7, 0.4, 0.6],
                        [-0.5, 0.3, 0.2],
                        [0.6, -0.2, 0.7]])
    q = 2  # query position i = 3 (0-based index 2)
    omega = X @ X[q]
    alpha = np.exp(omega - omega.max())
    alpha /= alpha.sum()

    T = len(X)
    # the weights are shown with three decimals; the displayed numbers of the
    # row are checked to add up to 1.000 (or the caption says by how much
    # rounding makes them miss it)
    shown = [f"{a:.3f}" for a in alpha]
    shown_sum = sum(int(round(float(a) * 1000)) for a in shown)
    assert abs(shown_sum - 1000) <= 2, shown
    fig, ax = canvas((-1.6, 21.4), (-0.1, 10.5), 0.43)
    att_e, att_f = PALETTE["attention"]
    ys = [7.4 - 1.35 * j for j in range(T)]
    x_in, x_om, x_sm, x_bar, x_term, x_sum, x_z = (
        0.9, 5.1, 8.35, 9.3, 14.9, 17.5, 19.7)
    bar_len = 3.4

    # column headers
    y_h1, y_h2 = 9.95, 9.1
    for x, h1, h2 in [
            (x_in, "inputs", r"$\mathbf{x}^{(1)},\ldots,\mathbf{x}^{(T)}$"),
            (x_om, "scores", r"$\omega_{ij}=\mathbf{x}^{(i)}"
                             r"\mathbf{x}^{(j)\top}$"),
            (x_bar + 1.4, "softmax weights",
             r"$\alpha_{ij}=\exp(\omega_{ij})/\sum_k\exp(\omega_{ik})$"),
            (x_sum + 0.3, "weighted sum",
             r"$\mathbf{z}^{(i)}=\sum_j\alpha_{ij}\mathbf{x}^{(j)}$")]:
        text(ax, x, y_h1, h1, weight="bold")
        text(ax, x, y_h2, h2, size=FS_SMALL)

    xs, terms = [], []
    for j, y in enumerate(ys):
        is_q = j == q
        xb = box(ax, x_in, y, 1.7, 0.85, vec("x", j + 1), "input",
                 lw=2.8 if is_q else 1.6, edge=att_e if is_q else None)
        xs.append(xb)
        ob = box(ax, x_om, y, 2.5, 0.8,
                 rf"$\omega_{{{q + 1},{j + 1}}}={omega[j]:.2f}$", "plain",
                 size=FS_SMALL)
        connect(ax, xb, ob, label=r"$\cdot\,\mathbf{x}^{(3)}$",
                label_offset=(0, 0.3), label_size=FS_SMALL, label_color=GREY)
        # bar for alpha
        ax.add_patch(FancyBboxPatch(
            (x_bar, y - 0.25), bar_len * alpha[j], 0.5,
            boxstyle="round,pad=0,rounding_size=0.05", fc=att_f, ec=att_e,
            lw=1.4, zorder=3))
        text(ax, x_bar + bar_len * alpha[j] + 0.15, y,
             rf"$\alpha_{{{q + 1},{j + 1}}}={shown[j]}$", ha="left",
             size=FS_SMALL)
        tb = box(ax, x_term, y, 1.9, 0.8,
                 rf"$\alpha_{{{q + 1},{j + 1}}}\,\mathbf{{x}}^{{({j + 1})}}$",
                 "plain", size=FS_SMALL)
        terms.append(tb)

    text(ax, x_in - 1.0, ys[q], "query\n" + r"$i=3$", ha="right",
         size=FS_SMALL, color=att_e)

    # softmax over all j
    span = ys[0] - ys[-1] + 0.9
    sm = box(ax, x_sm, (ys[0] + ys[-1]) / 2, 0.75, span, "", "attention")
    text(ax, x_sm, sm.cy, r"softmax over $j$", rotation=90, size=FS_SMALL)
    for y in ys:
        arrow(ax, (x_om + 1.15, y), (x_sm - 0.375, y), mutation=10)

    # weighted sum
    s = node(ax, x_sum, ys[q], 0.45, r"$\Sigma$", "attention")
    for tb, a in zip(terms, alpha):
        connect(ax, tb, s, lw=0.6 + 5.0 * a, color=att_e, mutation=10)
    z = box(ax, x_z, ys[q], 1.5, 0.9, vec("z", 3), "output")
    connect(ax, s, z)
    text(ax, x_z, ys[q] - 0.85, "context-aware\nversion of " + vec("x", 3),
         size=FS_SMALL, color=GREY, va="top")
    text(ax, (x_bar + x_term) / 2 + 0.4, ys[-1] - 1.05,
         "(numbers from a toy example with 3-dimensional inputs; "
         "arrow width \u221d weight)", size=9, color=GREY)
    if shown_sum != 1000:
        text(ax, (x_bar + x_term) / 2 + 0.4, ys[-1] - 1.6,
             f"(the weights shown add up to {shown_sum / 1000:.3f} only "
             "because each is rounded to 3 decimals; the exact weights sum "
             "to 1)", size=9, color=GREY)
    save(fig, "self_attention.png")


# --------------------------------------------------------------------------
# 8. Transformer block
# --------------------------------------------------------------------------
def fig_transformer_block():
    fig, ax = canvas((-0.3, 15.0), (0.0, 19.3), 0.56)
    cx = 6.6
    rx = 0.9  # x of the residual connections
    att_e, att_f = PALETTE["attention"]

    title(ax, cx + 0.8, 18.85, "Transformer block")
    text(ax, cx + 0.8, 18.2, "(decoder-only models add a causal mask: "
         r"position $i$ attends only to $j \leq i$)", size=FS_SMALL,
         color=GREY)

    tok = box(ax, cx, 0.6, 4.8, 0.8,
              r"input tokens $w_1, \ldots, w_T$", "neutral")
    emb = box(ax, cx, 2.0, 4.8, 0.85, "token embeddings", "input")
    arrow(ax, tok.top(), emb.bottom())
    plus = node(ax, cx, 3.4, 0.32, r"$+$")
    arrow(ax, emb.top(), plus.bottom())
    pe = box(ax, 11.6, 3.4, 3.6, 1.0, "positional encoding", "input",
             size=FS_SMALL)
    arrow(ax, pe.left(), plus.right())

    # the repeated block
    frame(ax, 0.3, 4.2, 13.3, 16.6, color=GREY, lw=1.4)
    text(ax, 13.5, 10.4, r"$\times N$", size=FS_TITLE, ha="left",
         weight="bold")

    # multi-head attention
    frame(ax, 1.7, 5.15, 12.9, 11.75, color=att_e, fill=att_f, ls="-",
          lw=1.5, rounding=0.2)
    text(ax, 2.0, 11.35, "multi-head self-attention", ha="left",
         weight="bold", color=att_e)

    # stacked heads (back to front)
    hx0, hy0, hx1, hy1 = 2.1, 5.45, 10.9, 8.55
    for k, off in enumerate([0.6, 0.3, 0.0]):
        frame(ax, hx0 + off, hy0 + off, hx1 + off, hy1 + off, color=att_e,
              fill="white", ls="-", lw=1.2, rounding=0.15, zorder=1 + k)
    text(ax, hx1 + 0.75, hy1 + 0.35, r"head $h$", size=FS_SMALL,
         color=att_e, ha="left")
    text(ax, hx0 + 0.15, hy1 - 0.25, "head 1", size=FS_SMALL, color=att_e,
         ha="left", va="top")

    # residual branch 1 and input into attention
    y_br1, y_split = 4.65, 5.85
    arrow(ax, plus.top(), (cx, y_split), head=False)
    dot(ax, cx, y_br1)
    dot(ax, cx, y_split)
    qkv_y = 6.6
    qkv = {}
    for dx, name in [(-2.7, "Q"), (0.0, "K"), (2.7, "V")]:
        qkv[name] = box(
            ax, cx + dx, qkv_y, 2.3, 0.7,
            rf"$\mathbf{{{name}}}=\mathbf{{X}}\mathbf{{U}}_{{{name.lower()}}}$",
            "plain", size=FS_SMALL, zorder=5)
        path_arrow(ax, [(cx, y_split), (cx + dx, y_split),
                        qkv[name].bottom()], zorder=5)
    att = box(ax, cx, 7.75, 6.9, 0.8,
              r"$\mathrm{softmax}(\mathbf{Q}\mathbf{K}^{\top}/\sqrt{d_k})"
              r"\,\mathbf{V}$", "attention", size=FS_LABEL, zorder=5)
    for name in "QKV":
        arrow(ax, qkv[name].top(), (qkv[name].cx, att.bottom()[1]),
              zorder=5)
    concat = box(ax, cx, 9.6, 5.2, 0.65, r"concatenate the $h$ heads", "plain",
                 size=FS_SMALL, zorder=5)
    arrow(ax, att.top(), concat.bottom(), zorder=6)
    proj = box(ax, cx, 10.55, 5.2, 0.65,
               r"linear projection $\mathbf{W}_{o}$", "plain",
               size=FS_SMALL, zorder=5)
    arrow(ax, concat.top(), proj.bottom(), zorder=6)

    # add & norm 1 with residual
    an1 = box(ax, cx, 12.45, 5.2, 0.7, "Add & LayerNorm", "hidden")
    arrow(ax, proj.top(), an1.bottom())
    path_arrow(ax, [(cx, y_br1), (rx, y_br1), (rx, an1.cy), an1.left()])
    text(ax, rx - 0.15, 8.4, "residual", rotation=90, size=FS_SMALL,
         color=GREY, ha="right")

    # feed-forward with residual
    y_br2 = 13.25
    ffn = box(ax, cx, 14.35, 6.4, 1.1, "position-wise feed-forward\n"
              "Linear \u2192 ReLU \u2192 Linear", "hidden")
    arrow(ax, an1.top(), ffn.bottom())
    dot(ax, cx, y_br2)
    an2 = box(ax, cx, 15.85, 5.2, 0.7, "Add & LayerNorm", "hidden")
    arrow(ax, ffn.top(), an2.bottom())
    path_arrow(ax, [(cx, y_br2), (rx, y_br2), (rx, an2.cy), an2.left()])
    text(ax, rx - 0.15, 14.55, "residual", rotation=90, size=FS_SMALL,
         color=GREY, ha="right")

    out = box(ax, cx, 17.15, 6.4, 0.75,
              "output (to next block / output layer)", "output",
              size=FS_SMALL)
    arrow(ax, an2.top(), out.bottom())
    save(fig, "transformer_block.png")


FIGURES = [
    fig_sequential_vs_iid,
    fig_sequence_categories,
    fig_rnn_unfolded,
    fig_hidden_vs_output_recurrence,
    fig_lstm_cell,
    fig_char_data_flow,
    fig_self_attention,
    fig_transformer_block,
]

if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        OUT_DIR = Path(sys.argv[1])
        OUT_DIR.mkdir(parents=True, exist_ok=True)
    for make in FIGURES:
        make()
