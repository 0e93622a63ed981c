# The cross-validation folds of the WMH network, by patient (sourced by the cv-*.sh
# scripts): each holds out one patient of each source that has several, and P14's three
# time points stay together.
# held_out FOLD: the cases fold a, b or c holds out, space-separated.
held_out() {
  case $1 in
    a) echo "openms-patient19 simvent-105465" ;;
    b) echo "openms-patient07 simvent-104252" ;;
    c) echo "mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 simvent-105074" ;;
    *) echo "unknown fold $1" >&2; return 2 ;;
  esac
}
