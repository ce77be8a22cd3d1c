// Pictures for reports: PNG encoding, segmentation overlays, line plots and image grids (CPU, Node).
export { toImage, rgbAt, type Image, type Rgb, type ToImageOptions } from './image.js';
export { encodePng, encodeIndexedPng, writePng } from './png.js';
export { Canvas, WHITE, BLACK } from './canvas.js';
export { textWidth, textHeight, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH } from './font.js';
export { segmentationOverlay, classPalette, labelFilePalette, ACDC_PALETTE, ERROR_COLOUR, type Overlay, type OverlayInput, type Rect } from './overlay.js';
export { linePlot, logAxis, niceAxis, SERIES_COLOURS, type NiceAxis, type PlotOptions, type PlotPanel, type Series } from './plot.js';
export { imageGrid, imagesFromNchw, type GridOptions } from './grid.js';
