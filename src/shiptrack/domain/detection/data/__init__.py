"""jkeen/tracking_number_data, vendored verbatim (MIT, see LICENSE and SOURCE.txt); read as
package resources by ``shiptrack.domain.detection.formats``."""
