// Public API of the data room: dataset interface, ACDC (HDF5) and NIfTI readers, the procedural
// phantom, the published augmentation and nearest zoom, the two-stream sampler, a seeded RNG.
export { validatePair, type SegDataset, type SliceSample, type VolumeSample } from './dataset.js';
export { SeededRng, deriveSeed, type RngState } from './rng.js';
export {
  AcdcDataset,
  checkAcdcHeader,
  ACDC_CLASS_NAMES,
  ACDC_NUM_CLASSES,
  ACDC_STANDARD_SPLITS,
  findAcdcRoot,
  labeledSliceCount,
  patientOf,
  readAcdcSlice,
  readAcdcVolume,
  readNameList,
  type AcdcOptions,
  type LabeledSplit,
} from './acdc.js';
export { PhantomDataset, phantomSlice, phantomVolume, drawHeart, type HeartShape, type PhantomOptions } from './phantom.js';
export { nearestZoomIndices, zoomNearest, type PixelArray, type ZoomEdge } from './zoom.js';
export {
  applyAugmentation,
  augmentAndResize,
  augmentationWarp,
  drawAugmentation,
  rot90FlipWarp,
  rotationWarp,
  warpNearest,
  type AffineWarp,
  type Augmentation,
} from './augment.js';
export { TwoStreamBatchSampler, type TwoStreamBatch, type TwoStreamSamplerState } from './sampler.js';
export { ensureHdf5Ready, inspectHdf5Datasets, readHdf5Datasets, type Hdf5Array, type Hdf5DatasetInfo, type HostArray } from '../io/hdf5.js';
export { readNifti, readAcdcNifti, minMaxNormalise, type NiftiVolume } from '../io/nifti.js';
export { WithUnlabeled, checkSliceFile, readSliceFile } from './synthetic.js';
export { FundusDataset, FUNDUS_CLASS_NAMES, detectFundusLayout, findDriveRoot, listFundusRecords, type FundusLayout, type FundusOptions, type FundusRecord } from './fundus.js';
export { decodeImageBytes, inspectImageBytes, inspectImageFile, readImageFile, intensity, binaryMask, type ImageHeader, type InputChannel, type RgbaImage } from './image-decode.js';
export { axisTaps, resizeFiltered } from './resample.js';
export { VAL_SPLITS, splitValidation, type ValSplit } from './val-split.js';
export { ACDC_TEST_PATIENTS, ACDC_TRAIN_PATIENTS, ACDC_VAL_PATIENTS, acdcVolumeName } from './acdc-split.js';
export { acdcLists, checkAcdcOutput, findAcdcRelease, prepareAcdc, type AcdcFrame, type AcdcRelease } from './acdc-prepare.js';
