#!/usr/bin/env python3
"""Writes the small test models the scenario G-code is sliced from, as ASCII
STL, into scenarios/models/ (or the folder given as the first argument):

  cube20.stl      a 20 x 20 x 20 mm calibration cube
  cylinder20.stl  a cylinder 20 mm in diameter and 10 mm high (64 facets)
  step.stl        an L-shaped step bracket: a 30 x 20 x 4 mm foot with a
                  6 x 20 x 16 mm upright at one end (20 mm high overall)

All models sit on z = 0 with their lowest x and y at 0; slicers centre them
on the bed. Units are millimetres. Output is deterministic (fixed number
formatting), so regenerating gives byte-identical files. Only needed to
regenerate the committed STL files; python3 3.x, no modules beyond the
standard library.
"""
import math
import os
import sys


def normal(a, b, c):
    ux, uy, uz = (b[i] - a[i] for i in range(3))
    vx, vy, vz = (c[i] - a[i] for i in range(3))
    n = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx)
    length = math.sqrt(sum(x * x for x in n)) or 1.0
    return tuple(x / length for x in n)


def fmt(x):
    s = "%.6f" % x
    return "0.000000" if s == "-0.000000" else s


def write_stl(path, name, triangles):
    """triangles: (a, b, c) with vertices counter-clockwise seen from outside."""
    with open(path, "w", newline="\n") as f:
        f.write("solid %s\n" % name)
        for a, b, c in triangles:
            n = normal(a, b, c)
            f.write("  facet normal %s %s %s\n" % tuple(fmt(x) for x in n))
            f.write("    outer loop\n")
            for v in (a, b, c):
                f.write("      vertex %s %s %s\n" % tuple(fmt(x) for x in v))
            f.write("    endloop\n")
            f.write("  endfacet\n")
        f.write("endsolid %s\n" % name)


def extrude(polygon, height):
    """A prism: a simple polygon in the xy plane (counter-clockwise) extruded
    from z = 0 to z = height. Caps are fanned from the first vertex, which is
    correct for convex polygons and for the L profile below (fanned from its
    concave-safe corner)."""
    tris = []
    n = len(polygon)
    for i in range(1, n - 1):
        a, b, c = polygon[0], polygon[i], polygon[i + 1]
        tris.append(((a[0], a[1], height), (b[0], b[1], height), (c[0], c[1], height)))
        tris.append(((a[0], a[1], 0.0), (c[0], c[1], 0.0), (b[0], b[1], 0.0)))
    for i in range(n):
        p, q = polygon[i], polygon[(i + 1) % n]
        p0, q0 = (p[0], p[1], 0.0), (q[0], q[1], 0.0)
        p1, q1 = (p[0], p[1], height), (q[0], q[1], height)
        tris.append((p0, q0, q1))
        tris.append((p0, q1, p1))
    return tris


def rotate_x_up(tris, depth):
    """Turns a prism extruded along z (profile in the xy plane, y up) so that
    the profile stands in the xz plane and the extrusion runs along y from 0
    to depth: (x, y, z) -> (x, depth - z, y). A rotation, so facets keep
    their orientation."""
    return [tuple((v[0], depth - v[2], v[1]) for v in t) for t in tris]


def cube(size):
    s = size
    return extrude([(0, 0), (s, 0), (s, s), (0, s)], s)


def cylinder(diameter, height, facets):
    r = diameter / 2.0
    poly = [(r + r * math.cos(2 * math.pi * i / facets),
             r + r * math.sin(2 * math.pi * i / facets)) for i in range(facets)]
    return extrude(poly, height)


def step_bracket():
    # Profile in the xz plane (drawn here as x, y): foot 30 long and 4 thick,
    # upright 6 thick and 20 high at x = 0..6. Counter-clockwise, starting at
    # the inner corner (6, 4) so that the cap fan stays inside the L.
    profile = [(6, 4), (6, 20), (0, 20), (0, 0), (30, 0), (30, 4)]
    return rotate_x_up(extrude(profile, 20.0), 20.0)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "scenarios", "models")
    os.makedirs(out, exist_ok=True)
    write_stl(os.path.join(out, "cube20.stl"), "cube20", cube(20.0))
    write_stl(os.path.join(out, "cylinder20.stl"), "cylinder20", cylinder(20.0, 10.0, 64))
    write_stl(os.path.join(out, "step.stl"), "step", step_bracket())


if __name__ == "__main__":
    main()
