// Object surfaces and surface-to-surface distances with medpy's semantics (medpy.metric.binary):
// the surface of a mask is what one binary erosion removes, the erosion using the cross-shaped
// structuring element (face neighbours only, connectivity 1) with everything outside the volume
// counted as background (scipy.ndimage.binary_erosion's border_value=0). So a mask touching the edge of
// the volume has surface voxels along that edge.
import { checkGrid, gridSize, squaredDistanceTransform, type Grid } from './edt.js';

/** 1 where a voxel of the mask has a face neighbour (or the volume's edge) outside the mask. */
export function surfaceVoxels(mask: ArrayLike<number | boolean>, grid: Grid): Uint8Array {
  checkGrid('surfaceVoxels', grid, mask);
  const { shape } = grid;
  const n = gridSize(shape);
  const strides = shape.map((_, axis) => gridSize(shape.slice(axis + 1)));
  const surface = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    for (let axis = 0; axis < shape.length; axis++) {
      const stride = strides[axis];
      const coord = Math.floor(i / stride) % shape[axis];
      const exposed = coord === 0 || coord === shape[axis] - 1 || !mask[i - stride] || !mask[i + stride];
      if (exposed) {
        surface[i] = 1;
        break;
      }
    }
  }
  return surface;
}

/** Distances from each surface voxel of one mask to the nearest surface voxel of the other, both ways. */
export interface SurfaceDistances {
  /** One entry per surface voxel of the prediction (medpy's __surface_distances(pred, gt)). */
  predToGt: Float64Array;
  /** One entry per surface voxel of the ground truth. */
  gtToPred: Float64Array;
}

/** Both directed surface-distance sets; both masks must be non-empty (there is no surface otherwise). */
export function surfaceDistances(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>, grid: Grid): SurfaceDistances {
  checkGrid('surfaceDistances', grid, pred, gt);
  const predSurface = surfaceVoxels(pred, grid);
  const gtSurface = surfaceVoxels(gt, grid);
  if (!predSurface.includes(1) || !gtSurface.includes(1)) {
    throw new Error('surfaceDistances: a mask is empty, so surface distances are undefined');
  }
  return {
    predToGt: directed(predSurface, squaredDistanceTransform(gtSurface, grid)),
    gtToPred: directed(gtSurface, squaredDistanceTransform(predSurface, grid)),
  };
}

function directed(from: Uint8Array, squaredDistanceToOther: Float64Array): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < from.length; i++) if (from[i]) out.push(Math.sqrt(squaredDistanceToOther[i]));
  return Float64Array.from(out);
}
