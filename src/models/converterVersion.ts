// Models: which `hybridgl models convert` wrote a model directory, and whether that converter is one known to write
// wrong weights (its manifest's exporter name and version; the loader and `models fetch` refuse such a directory).

export const CONVERTER_NAME = 'hybridgl models convert';
/** 2: templates of format 2 (every float initializer rebuilt from the checkpoint or proven constant), the output
 *  checked before success. */
export const CONVERTER_VERSION = '2';
/** The template format (models/hybridgl_export/templates.py FORMAT_VERSION) this converter reads. */
export const TEMPLATE_FORMAT_VERSION = 2;

/** Converter versions whose output is wrong, and why. */
const AFFECTED: Record<string, string> = {
  '1': "its SAM decoder holds the random weights its graph templates were made from in place of the checkpoint's " +
    '(the two output_upscaling ConvTranspose weights), so masks differ from the checkpoint\'s',
};

/** Why a directory written by `exporter` must not be used (an affected converter version), or null. */
export function affectedConversion(exporter: { name?: unknown; version?: unknown } | undefined): string | null {
  if (exporter?.name !== CONVERTER_NAME) return null;
  const why = AFFECTED[String(exporter.version)];
  return why ? `converted by ${CONVERTER_NAME} version ${String(exporter.version)}: ${why}` : null;
}
