package manifest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
)

// Check validates a built package the way Teams reads it: exactly
// manifest.json, color.png and outline.png at the zip root, a manifest that
// names those icons and the bot, a 192×192 colour icon and a 32×32 outline
// icon that is white on transparent.
func Check(pkg []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return fmt.Errorf("package is not a zip: %w", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return err
		}
		files[f.Name] = b
	}
	var errs []error
	for _, name := range []string{"manifest.json", "color.png", "outline.png"} {
		if _, ok := files[name]; !ok {
			errs = append(errs, fmt.Errorf("%s is missing from the package root", name))
		}
	}
	if len(files) != 3 {
		errs = append(errs, fmt.Errorf("the package holds %d files, want exactly manifest.json, color.png and outline.png", len(files)))
	}
	var m struct {
		ManifestVersion string            `json:"manifestVersion"`
		ID              string            `json:"id"`
		Icons           map[string]string `json:"icons"`
		Bots            []struct {
			BotID string `json:"botId"`
		} `json:"bots"`
		ValidDomains []string `json:"validDomains"`
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		errs = append(errs, fmt.Errorf("manifest.json: %w", err))
	} else {
		if m.Icons["color"] != "color.png" || m.Icons["outline"] != "outline.png" {
			errs = append(errs, errors.New("manifest.json does not name color.png and outline.png"))
		}
		if len(m.Bots) != 1 || m.Bots[0].BotID != m.ID || !guid.MatchString(m.ID) {
			errs = append(errs, errors.New("manifest.json must declare one bot whose botId is the app id"))
		}
		if len(m.ValidDomains) == 0 {
			errs = append(errs, errors.New("manifest.json has no validDomains: the sign-in button would do nothing"))
		}
	}
	if err := checkIcon(files["color.png"], 192, false); err != nil {
		errs = append(errs, fmt.Errorf("color.png: %w", err))
	}
	if err := checkIcon(files["outline.png"], 32, true); err != nil {
		errs = append(errs, fmt.Errorf("outline.png: %w", err))
	}
	return errors.Join(errs...)
}

func checkIcon(data []byte, size int, outline bool) error {
	if data == nil {
		return errors.New("missing")
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a PNG: %w", err)
	}
	if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
		return fmt.Errorf("is %dx%d, want %dx%d", b.Dx(), b.Dy(), size, size)
	}
	if outline {
		return whiteOnTransparent(img)
	}
	return nil
}

// whiteOnTransparent checks that every visible pixel is white and the corners are transparent.
func whiteOnTransparent(img image.Image) error {
	b := img.Bounds()
	visible := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a == 0 {
				continue
			}
			visible++
			// Un-premultiply: the colour of a visible pixel must be white.
			if r*0xffff/a < 0xfe00 || g*0xffff/a < 0xfe00 || bl*0xffff/a < 0xfe00 {
				return fmt.Errorf("pixel (%d,%d) is not white", x, y)
			}
		}
	}
	for _, c := range [][2]int{{b.Min.X, b.Min.Y}, {b.Max.X - 1, b.Min.Y}, {b.Min.X, b.Max.Y - 1}, {b.Max.X - 1, b.Max.Y - 1}} {
		if _, _, _, a := img.At(c[0], c[1]).RGBA(); a != 0 {
			return errors.New("the background is not transparent")
		}
	}
	if visible == 0 {
		return errors.New("is empty")
	}
	return nil
}
