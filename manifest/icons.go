package manifest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// AccentColor is the app's colour in Teams, also the colour icon's background.
const AccentColor = "#0F7B8A"

var accent = color.NRGBA{R: 0x0F, G: 0x7B, B: 0x8A, A: 0xFF}

// segment is a stroke of the snowflake, in units of the icon's size.
type segment struct{ x0, y0, x1, y1 float64 }

// snowflake returns the strokes of a six-armed snowflake centred at (0.5, 0.5)
// with arms of length r, each with two side branches.
func snowflake(r float64) []segment {
	var segs []segment
	for k := range 6 {
		a := float64(k) * math.Pi / 3
		dx, dy := math.Cos(a), math.Sin(a)
		segs = append(segs, segment{0.5, 0.5, 0.5 + r*dx, 0.5 + r*dy})
		// Side branches at 60% of the arm, pointing outwards at ±45°.
		bx, by := 0.5+0.6*r*dx, 0.5+0.6*r*dy
		for _, s := range []float64{-1, 1} {
			b := a + s*math.Pi/4
			segs = append(segs, segment{bx, by, bx + 0.35*r*math.Cos(b), by + 0.35*r*math.Sin(b)})
		}
	}
	return segs
}

// distance from (px, py) to a segment.
func (s segment) distance(px, py float64) float64 {
	vx, vy := s.x1-s.x0, s.y1-s.y0
	t := ((px-s.x0)*vx + (py-s.y0)*vy) / (vx*vx + vy*vy)
	t = math.Max(0, math.Min(1, t))
	dx, dy := px-(s.x0+t*vx), py-(s.y0+t*vy)
	return math.Hypot(dx, dy)
}

// coverage renders a shape given as an inside test, 4×4 supersampled, as an alpha mask.
func coverage(size int, inside func(x, y float64) bool) []float64 {
	const ss = 4
	out := make([]float64, size*size)
	for y := range size {
		for x := range size {
			n := 0
			for sy := range ss {
				for sx := range ss {
					fx := (float64(x) + (float64(sx)+0.5)/ss) / float64(size)
					fy := (float64(y) + (float64(sy)+0.5)/ss) / float64(size)
					if inside(fx, fy) {
						n++
					}
				}
			}
			out[y*size+x] = float64(n) / (ss * ss)
		}
	}
	return out
}

func flakeInside(r, width float64) func(x, y float64) bool {
	segs := snowflake(r)
	return func(x, y float64) bool {
		for _, s := range segs {
			if s.distance(x, y) <= width/2 {
				return true
			}
		}
		return false
	}
}

// roundedSquareInside is a square of the whole icon with rounded corners of radius rad.
func roundedSquareInside(rad float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		cx := math.Max(rad, math.Min(1-rad, x))
		cy := math.Max(rad, math.Min(1-rad, y))
		return math.Hypot(x-cx, y-cy) <= rad
	}
}

// ColorIcon is the 192×192 full-colour icon: a white snowflake on the accent colour.
func ColorIcon() *image.NRGBA {
	const size = 192
	bg := coverage(size, roundedSquareInside(0.18))
	fg := coverage(size, flakeInside(0.34, 0.065))
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for i := range bg {
		a := bg[i]
		if a == 0 {
			continue
		}
		// White over the accent colour, then the square's own edge coverage.
		f := fg[i]
		mix := func(c uint8) uint8 { return uint8(math.Round(float64(c)*(1-f) + 255*f)) }
		img.Pix[i*4+0] = mix(accent.R)
		img.Pix[i*4+1] = mix(accent.G)
		img.Pix[i*4+2] = mix(accent.B)
		img.Pix[i*4+3] = uint8(math.Round(255 * a))
	}
	return img
}

// OutlineIcon is the 32×32 outline icon: white on transparent, as Teams requires.
func OutlineIcon() *image.NRGBA {
	const size = 32
	fg := coverage(size, flakeInside(0.42, 0.09))
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for i, a := range fg {
		img.Pix[i*4+0], img.Pix[i*4+1], img.Pix[i*4+2] = 255, 255, 255
		img.Pix[i*4+3] = uint8(math.Round(255 * a))
	}
	return img
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic("manifest: encoding an icon: " + err.Error()) // cannot fail for an in-memory NRGBA
	}
	return b.Bytes()
}
